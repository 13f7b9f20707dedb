"""The manifest of a cut: every file's path, size and SHA-256, the cut's id and time.

The format is the contract's (prep_iac/contract.py: MANIFEST_FORMAT, parse_manifest), the
one reader the activator on each difusor uses too.
"""

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from prep_iac import contract
from prep_iac.errors import PrepError

FORMAT = contract.MANIFEST_FORMAT
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Entry:
    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    cut_id: str
    timestamp: str  # ISO-8601 with offset
    entries: tuple[Entry, ...]

    @property
    def total_bytes(self) -> int:
        return sum(e.size for e in self.entries)

    def to_json(self) -> dict:
        return {"formato": FORMAT, "corte": self.cut_id, "fecha_hora": self.timestamp,
                "archivos": [{"ruta": e.path, "bytes": e.size, "sha256": e.sha256}
                             for e in self.entries]}

    def to_bytes(self) -> bytes:
        return (json.dumps(self.to_json(), ensure_ascii=False, separators=(",", ":"))
                + "\n").encode()

    @classmethod
    def from_bytes(cls, data: bytes | str) -> "Manifest":
        """Read through the contract's one reader; raises contract.ManifestError."""
        return cls.from_json(contract.parse_manifest(data))

    @classmethod
    def from_json(cls, data: dict) -> "Manifest":
        """From a manifest object already checked by contract.parse_manifest."""
        return cls(data["corte"], data["fecha_hora"],
                   tuple(Entry(a["ruta"], a["bytes"], a["sha256"]) for a in data["archivos"]))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def cut_time(cut_id: str, tz: str, fallback: float) -> str:
    """The cut's time from its name (the PREP's convention), else the folder's mtime."""
    when = contract.parse_cut_id(cut_id)
    if when:
        return when.replace(tzinfo=ZoneInfo(tz)).isoformat()
    return datetime.fromtimestamp(fallback, ZoneInfo(tz)).isoformat(timespec="seconds")


def walk(root: Path) -> list[Path]:
    """Every regular file under root; anything else in a cut is an error, not skipped."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames) + [d for d in dirnames
                                         if os.path.islink(os.path.join(dirpath, d))]:
            path = Path(dirpath, name)
            if path.is_symlink() or not path.is_file():
                raise PrepError(f"{path} is not a regular file (symlink or device)",
                                "a cut holds only plain files and folders")
            found.append(path)
    return found


def build(root: Path, cut_id: str | None = None, timestamp: str | None = None,
          tz: str = "America/Monterrey") -> Manifest:
    root = Path(root)
    cut_id = cut_id or root.name
    if not contract.is_cut_id(cut_id):
        raise PrepError(f"cut id {cut_id!r} is not a plain name",
                        "name cuts like 20210606_2000_PREP_AYUN_COAH")
    entries = []
    for path in walk(root):
        rel = path.relative_to(root).as_posix()
        entries.append(Entry(rel, path.stat().st_size, sha256_file(path)))
    if not entries:
        raise PrepError(f"{root} has no files", "point at the cut's folder or zip")
    timestamp = timestamp or cut_time(cut_id, tz, root.stat().st_mtime)
    return Manifest(cut_id, timestamp, tuple(entries))
