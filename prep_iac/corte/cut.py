"""Writing a cut: the complete folder the Institute would publish at one cut time.

``out_dir/<cut-id>/`` holds index.html, a page per municipality, the JSON, the stylesheet,
the zip and ``actas/*.png``: regular files only, relative links only. Acta images are
written once into a store beside the cuts (``out_dir/.prep-corte/``) and hard-linked into
each cut, so a later cut costs only its new actas and every image stays byte-identical.
A cut is built in a temporary folder and renamed into place, so a reader never sees half
a cut.
"""

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

from prep_iac.corte import csvwriter, package, site, timing
from prep_iac.corte.election import Election, Entry
from prep_iac.corte.images import acta_png
from prep_iac.errors import PrepError

MARKER = ".prep-corte"
OWNER_FILE = "owner.json"


def ensure_out_dir(out_dir: Path | str, create: bool = True) -> Path:
    """The output folder, if it is ours (or new, or empty). Anything else is refused before
    a single byte is written."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise PrepError(f"{out} exists and is not a folder", "give --out a folder path")
    if out.is_dir():
        marker = out / MARKER / OWNER_FILE
        if not marker.is_file() and any(out.iterdir()):
            raise PrepError(
                f"{out} exists, is not empty and was not made by `prep-iac corte`",
                "give --out a new or empty folder (nothing was written)",
            )
    if create:
        (out / MARKER).mkdir(parents=True, exist_ok=True)
        owner = out / MARKER / OWNER_FILE
        if not owner.exists():
            owner.write_text(json.dumps({"made_by": "prep-iac corte"}) + "\n", "utf-8")
    return out


def check_moment(election: Election, at: datetime) -> None:
    if not election.opening <= at <= election.closing:
        raise PrepError(
            f"cut time {at:%Y-%m-%d %H:%M} is outside the PREP "
            f"({election.opening:%Y-%m-%d %H:%M} – {election.closing:%Y-%m-%d %H:%M})",
            "pick a time between the opening and the close of the PREP",
        )


class ImageStore:
    """Acta images of one election, written once and shared by every cut."""

    def __init__(self, out: Path, election: Election):
        self.election = election
        self.dir = out / MARKER / "actas" / election.fingerprint
        self.dir.mkdir(parents=True, exist_ok=True)

    def ensure(self, entry: Entry) -> Path:
        name = entry.casilla.image_name
        path = self.dir / name
        if self.election.known_sha(name) and path.exists():
            return path
        if path.exists():
            # Made by an earlier run of the same election (the store is keyed by its
            # fingerprint, files land by rename, never half-written): hash, don't redraw.
            self.election.remember_sha(name, hashlib.sha256(path.read_bytes()).hexdigest())
            return path
        data = acta_png(self.election, entry)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")  # two writers never share a temp file
        tmp.write_bytes(data)
        os.replace(tmp, path)
        self.election.remember_sha(name, hashlib.sha256(data).hexdigest())
        return path

    def ensure_all(self, entries: list[Entry]) -> list[Path]:
        """Every image of ``entries``, made where missing. Two threads: deflate, hashing
        and file writes release the GIL, so drawing one image overlaps writing another
        (each image depends on its acta alone, so the bytes are the same either way)."""
        self.election.noise_pool()  # made once, before the threads race for it
        if len(entries) < 64:
            return [self.ensure(e) for e in entries]
        with ThreadPoolExecutor(max_workers=2) as pool:
            return list(pool.map(self.ensure, entries))


def _link(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def write_cut(election: Election, at: datetime | str, out_dir: Path | str, images: bool = True,
              fmt: csvwriter.CsvFormat | None = None) -> Path:
    """Write the cut at ``at`` into ``out_dir/<cut-id>/`` and return that folder."""
    fmt = fmt or csvwriter.CsvFormat()
    at = election.local(at)
    check_moment(election, at)
    out = ensure_out_dir(out_dir)
    cid = timing.cut_id(at)
    final = out / cid
    tmp = out / MARKER / f"tmp-{cid}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        published = election.published(at)
        if images:
            store = ImageStore(out, election)
            actas_dir = tmp / "actas"
            actas_dir.mkdir()
            with_image = [e for e in published if e.acta.has_image]
            for e, path in zip(with_image, store.ensure_all(with_image)):
                _link(path, actas_dir / e.casilla.image_name)
        rows = csvwriter.cut_rows(election, at)
        actas_csv, head = csvwriter.render_actas_csv(at, rows, fmt)
        cand_csv = csvwriter.render_candidaturas_csv(at, election, fmt)
        leeme = csvwriter.encode(package.leeme(at).replace("\n", csvwriter.NEWLINES[fmt.newline]), fmt)
        zip_name = f"{cid}.zip"
        (tmp / zip_name).write_bytes(package.build_zip(at, actas_csv, cand_csv, leeme))
        site.render_site(tmp, cid, at, csvwriter.as_dicts(rows), head, zip_name, images=images)
        _swap_into_place(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def _swap_into_place(tmp: Path, final: Path) -> None:
    if final.exists():
        # Same election and time: the content is the same; replace it whole. The old copy
        # steps aside into our hidden folder, never beside the cuts.
        old = tmp.with_name(f"old-{final.name}-{os.getpid()}")
        shutil.rmtree(old, ignore_errors=True)
        os.rename(final, old)
        os.rename(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, final)


def prepare_images(election: Election, out_dir: Path | str,
                   on_image: Callable[[int, int], None] | None = None) -> int:
    """Write every acta image of the night into the store ahead of time (a drill calls this
    before its first cut, so no cut pays for more than linking). Returns how many."""
    out = ensure_out_dir(out_dir)
    store = ImageStore(out, election)
    todo = [e for e in election.entries if e.times is not None and e.acta.has_image]
    for i in range(0, len(todo), 500):
        store.ensure_all(todo[i:i + 500])
        if on_image:
            on_image(min(i + 500, len(todo)), len(todo))
    return len(todo)


def write_series(election: Election, times: list[datetime], out_dir: Path | str,
                 images: bool = True, fmt: csvwriter.CsvFormat | None = None,
                 on_cut: Callable[[datetime, Path], None] | None = None) -> list[Path]:
    """Every cut of ``times``; ``on_cut`` is called after each (for a progress bar)."""
    for at in times:
        check_moment(election, at)
    ensure_out_dir(out_dir)
    folders = []
    for at in times:
        folder = write_cut(election, at, out_dir, images=images, fmt=fmt)
        folders.append(folder)
        if on_cut:
            on_cut(at, folder)
    return folders
