"""The logs bundle the IEC receives: a tar.gz of the files exactly as found (rotated and
compressed ones included, never rewritten) and a SHA-256 list, inside and beside the archive."""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import tarfile
from datetime import UTC
from pathlib import Path

from prep_iac.memoria.logformat import MONTHS

SUMS_NAME = "SHA256SUMS"
_TS = re.compile(rb"\[(\d\d)/([A-Z][a-z]{2})/(\d{4}):(\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)\]")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _epoch(m: re.Match) -> float | None:
    from datetime import datetime, timedelta

    try:
        d, mon, y, hh, mm, ss, sign, oh, om = m.groups()
        t = datetime(int(y), MONTHS[mon.decode()], int(d), int(hh), int(mm), int(ss),
                     tzinfo=UTC)
    except (KeyError, ValueError):
        return None
    off = (int(oh) * 3600 + int(om) * 60) * (-1 if sign == b"-" else 1)
    return (t - timedelta(seconds=off)).timestamp()


def log_span(path: Path) -> tuple[float, float] | None:
    """First and last timestamp of an access log (plain or gzip), or None if it has none.

    Plain files are read at both ends only; gzip ones are streamed (they are small).
    """
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    first = last = None
    if gz:
        with gzip.open(path, "rb") as f:
            tail = b""
            for block in iter(lambda: f.read(1 << 20), b""):
                if first is None:
                    m = _TS.search(block)
                    first = _epoch(m) if m else None
                tail = (tail + block)[-65536:]
        ms = list(_TS.finditer(tail))
        last = _epoch(ms[-1]) if ms else None
    else:
        with open(path, "rb") as f:
            head = f.read(65536)
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - 65536))
            tail = f.read()
        m = _TS.search(head)
        first = _epoch(m) if m else None
        ms = list(_TS.finditer(tail))
        last = _epoch(ms[-1]) if ms else None
    if first is None or last is None:
        return None
    return first, last


def select_logs(files: list[Path], since: float, until: float) -> list[Path]:
    """The files whose time span overlaps [since, until) — whole files, as found."""
    out = []
    for p in files:
        span = log_span(p)
        if span and span[0] < until and span[1] >= since:
            out.append(p)
    return out


def write_bundle(files: list[Path], root: Path, tar_path: Path) -> dict[str, str]:
    """tar.gz of `files` (names relative to root) plus SHA256SUMS inside and beside it.

    Returns {relative name: sha256}. The archive's own hash goes to `<tar>.sha256`.
    """
    sums = {str(p.relative_to(root)): sha256_file(p) for p in sorted(files)}
    listing = "".join(f"{h}  {name}\n" for name, h in sums.items()).encode()
    tar_path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tar_path, "w:gz") as tar:
        for name in sums:
            tar.add(root / name, arcname=name, recursive=False)
        info = tarfile.TarInfo(SUMS_NAME)
        info.size = len(listing)
        tar.addfile(info, io.BytesIO(listing))
    (tar_path.parent / SUMS_NAME).write_bytes(listing)
    tar_path.with_name(tar_path.name + ".sha256").write_text(
        f"{sha256_file(tar_path)}  {tar_path.name}\n")
    return sums


def verify_bundle(tar_path: Path) -> list[str]:
    """Names whose content does not match the SHA256SUMS inside the archive ([] = all good)."""
    bad = []
    with tarfile.open(tar_path, "r:gz") as tar:
        listing = tar.extractfile(SUMS_NAME).read().decode()
        pairs = (line.split("  ", 1) for line in listing.splitlines() if line)
        expected = {name: h for h, name in pairs}
        for name, h in expected.items():
            member = tar.extractfile(name)
            if member is None or hashlib.sha256(member.read()).hexdigest() != h:
                bad.append(name)
    return bad
