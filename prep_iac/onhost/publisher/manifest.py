"""The manifest of a cut: every file's path, size and SHA-256, the cut's id and time (from
its CSVs: cutdata.py), and the signed stamp (process, mode, sequence, issue time, final) it
is sent under.

The format is the contract's (prep_iac/contract.py: MANIFEST_FORMAT, parse_manifest), the
one reader the activator on each difusor uses too.
"""

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from prep_iac import contract
from prep_iac.errors import PrepError
from prep_iac.onhost.publisher import cutdata

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
    stamp: dict | None = None  # contract.STAMP_KEYS; required before it is signed

    @property
    def total_bytes(self) -> int:
        return sum(e.size for e in self.entries)

    @property
    def content_sha256(self) -> str:
        return contract.content_sha256(self.files_json())

    def files_json(self) -> list[dict]:
        return [{"ruta": e.path, "bytes": e.size, "sha256": e.sha256} for e in self.entries]

    def stamped(self, stamp: dict) -> "Manifest":
        return Manifest(self.cut_id, self.timestamp, self.entries, dict(stamp))

    def to_json(self) -> dict:
        if self.stamp is None:
            raise ValueError(f"manifest of {self.cut_id} has no stamp: stamped() first")
        return {"formato": FORMAT, "corte": self.cut_id, "fecha_hora": self.timestamp,
                **self.stamp, "archivos": self.files_json()}

    def heartbeat_bytes(self) -> bytes:
        """The heartbeat naming this cut's content under this manifest's stamp."""
        beat = {"formato": contract.HEARTBEAT_FORMAT, "corte": self.cut_id,
                "contenido_sha256": self.content_sha256, **self.stamp}
        return (json.dumps(beat, ensure_ascii=False, separators=(",", ":")) + "\n").encode()

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
                   tuple(Entry(a["ruta"], a["bytes"], a["sha256"]) for a in data["archivos"]),
                   {k: data[k] for k in contract.STAMP_KEYS} if "modo" in data else None)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


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


def build(root: Path, cut_id: str | None = None, timestamp: str | None = None) -> Manifest:
    """The manifest of the cut in `root`. Its time is what the cut's CSVs say
    (cutdata.cut_time: never the folder's date nor the clock), read before any hashing so a
    folder that is no cut fails at once. `timestamp` is for callers that vouch for the time
    of a tree that is no PREP cut (tests); publishing never passes it."""
    root = Path(root)
    cut_id = cut_id or root.name
    if not contract.is_cut_id(cut_id):
        raise PrepError(f"cut id {cut_id!r} is not a plain name",
                        "name cuts like 20210606_2000_PREP_AYUN_COAH")
    timestamp = timestamp or cutdata.cut_time(root, cut_id)
    entries = []
    for path in walk(root):
        rel = path.relative_to(root).as_posix()
        entries.append(Entry(rel, path.stat().st_size, sha256_file(path)))
    if not entries:
        raise PrepError(f"{root} has no files", "point at the cut's folder or zip")
    return Manifest(cut_id, timestamp, tuple(entries))
