"""A wheel of prep-iac's publisher runtime, built on the controller, byte-for-byte the same
for the same sources, so the publisher deploy re-installs only when that code changed.

What a publisher runs goes in whole: the contract, the host programs (prep_iac/onhost, the
push engine among them), the `prep-iac status` command and the publisher's templates; no
pyinfra, no testinfra, no pydantic. Its dependencies come from Debian on the host.
"""

import base64
import hashlib
import os
import zipfile
from pathlib import Path

from prep_iac import __version__
from prep_iac.paths import PACKAGE_DIR

EPOCH = (2020, 1, 1, 0, 0, 0)
ENTRY_POINTS = ("[console_scripts]\nprep-iac = prep_iac.cli:main\n"
                "prep-publisher = prep_iac.onhost.publisher.service:main\n")
SKIP_DIRS = {"__pycache__"}
# What the publisher host runs, relative to the package.
RUNTIME = ("__init__.py", "children.py", "contract.py", "errors.py", "paths.py", "preflight.py",
           "onhost", "cli.py", "console.py", "publish", "templates/publisher")


def _files(root: Path):
    """(archive name, path) of the runtime's files, following the templates symlink."""
    out = []
    for part in RUNTIME:
        path = root / part
        if path.is_file():
            out.append((path.relative_to(root.parent).as_posix(), path))
        else:
            out += _walk(root, path)
    return sorted(out)


def _walk(root: Path, top: Path):
    out = []
    for dirpath, dirnames, filenames in os.walk(top, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            path = Path(dirpath, name)
            if name.startswith(".") or path.suffix in (".pyc", ".pyo"):
                continue
            rel = Path(os.path.relpath(path, root.parent))
            out.append((rel.as_posix(), path))
    return out


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def build(out_dir: Path) -> Path:
    name = f"prep_iac-{__version__}"
    dist_info = f"{name}.dist-info"
    wheel_path = Path(out_dir) / f"{name}-py3-none-any.whl"
    entries = [(arc, p.read_bytes()) for arc, p in _files(PACKAGE_DIR)]
    entries += [
        (f"{dist_info}/METADATA",
         f"Metadata-Version: 2.1\nName: prep-iac\nVersion: {__version__}\n".encode()),
        (f"{dist_info}/WHEEL",
         b"Wheel-Version: 1.0\nGenerator: prep-iac\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
        (f"{dist_info}/entry_points.txt", ENTRY_POINTS.encode()),
    ]
    record = [_record_line(arc, data) for arc, data in entries] + [f"{dist_info}/RECORD,,"]
    entries.append((f"{dist_info}/RECORD", ("\n".join(record) + "\n").encode()))
    tmp = wheel_path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for arc, data in entries:
            info = zipfile.ZipInfo(arc, EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    tmp.replace(wheel_path)
    return wheel_path
