"""Where a cut comes from: its folder, or the IEC's zip of it (unpacked safely)."""

import shutil
import stat
import tempfile
import zipfile
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from prep_iac.errors import PrepError
from prep_iac.onhost.publisher.cutdata import ZIP_DAMAGED


def _safe_members(zf: zipfile.ZipFile):
    for info in zf.infolist():
        name = PurePosixPath(info.filename)
        if name.is_absolute() or ".." in name.parts or "\\" in info.filename:
            raise PrepError(f"zip member {info.filename!r} escapes the cut",
                            "rebuild the zip with relative paths")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise PrepError(f"zip member {info.filename!r} is a symlink",
                            "a cut holds only plain files")
        yield info


def _single_top(root: Path) -> Path:
    """A zip of `CUT/…` unpacks to one folder: the cut is that folder."""
    children = [p for p in root.iterdir()]
    if len(children) == 1 and children[0].is_dir():
        return children[0]
    return root


def _extract(cut: Path, into: Path) -> None:
    try:
        with zipfile.ZipFile(cut) as zf:
            for info in _safe_members(zf):
                zf.extract(info, into)
    except ZIP_DAMAGED as exc:
        raise PrepError(f"{cut} is a damaged zip ({exc})",
                        "copy the cut's zip again") from None


@contextmanager
def opened(cut: Path):
    """Yields (folder, cut id) for a folder or a zip; a zip is unpacked to a temp dir."""
    cut = Path(cut)
    if cut.is_dir():
        yield cut, cut.name
        return
    if not (cut.is_file() and zipfile.is_zipfile(cut)):
        raise PrepError(f"{cut} is neither a cut folder nor a zip", "pass the cut's folder or zip")
    tmp = Path(tempfile.mkdtemp(prefix="prep-cut-"))
    try:
        _extract(cut, tmp)
        folder = _single_top(tmp)
        cut_id = folder.name if folder is not tmp else cut.stem
        yield folder, cut_id
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
