"""The signed stamp of every manifest and heartbeat (contract.py: the signed stamp).

The sequence only grows: the later of the last one this signer issued plus one and the
time in milliseconds, so two signers whose clocks agree (the publisher host and an
operator's `prep-iac publish`) also issue in order, and a restored state file can never
make a signer repeat a number a difusor already accepted.
"""

import fcntl
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from prep_iac import contract

SEQUENCE_FILE = "secuencia"


@dataclass(frozen=True)
class Stamp:
    process: str
    mode: str
    sequence: int
    issued: str  # ISO-8601 with offset
    final: bool = False

    def to_json(self) -> dict:
        return {"proceso": self.process, "modo": self.mode, "secuencia": self.sequence,
                "emitido": self.issued, "final": self.final}


def next_sequence(state_dir: Path, now: float | None = None) -> int:
    """The next sequence number, persisted (under a lock) before it is used."""
    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = state_dir / SEQUENCE_FILE
    with open(state_dir / (SEQUENCE_FILE + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            last = int(path.read_text().strip() or 0)
        except (OSError, ValueError):
            last = 0
        sequence = max(last + 1, int((time.time() if now is None else now) * 1000))
        tmp = path.with_name("." + SEQUENCE_FILE + ".tmp")
        tmp.write_text(f"{sequence}\n")
        os.replace(tmp, path)
    return sequence


def new_stamp(state_dir: Path, process: str, mode: str, final: bool = False) -> Stamp:
    if mode not in contract.MODES:
        raise ValueError(f"mode {mode!r} is not one of {contract.MODES}")
    issued = datetime.now(UTC).astimezone().isoformat(timespec="seconds")
    return Stamp(contract.process_for(process, mode), mode, next_sequence(state_dir), issued,
                 final)
