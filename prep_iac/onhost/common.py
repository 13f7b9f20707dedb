"""What the host programs share: files written whole, estado.json under its lock, and
settings read into their dataclass. Standard library only."""

import dataclasses
import fcntl
import json
import os
import socket
import tempfile
from contextlib import contextmanager

from prep_iac import contract


def write_atomic(path, data: bytes, mode: int = 0o644) -> None:
    """Write by rename in the same folder: readers see the old file or the new one, whole."""
    directory = os.path.dirname(os.fspath(path)) or "."
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json(path, obj, mode: int = 0o644, compact: bool = False) -> None:
    # Manifests run to thousands of entries: compact, they write and read several times faster.
    options = {"separators": (",", ":")} if compact else {"indent": 1}
    write_atomic(path, (json.dumps(obj, ensure_ascii=False, **options) + "\n").encode(), mode)


def read_json(path) -> dict:
    """A JSON object from a file; {} when it is missing, unreadable or not an object."""
    try:
        with open(path, "rb") as f:
            value = json.load(f)
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


@contextmanager
def estado_lock(root: str = contract.PREP_ROOT):
    """The lock every writer of estado.json holds (activator and watchdog)."""
    with open(os.path.join(root, os.path.basename(contract.ESTADO_LOCK)), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def estado_path(root: str = contract.PREP_ROOT) -> str:
    return os.path.join(root, os.path.basename(contract.ESTADO_FILE))


def settings_from(cls, data: dict):
    """A settings dataclass from its JSON; an unknown key is an error, never ignored."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"unknown setting(s) for {cls.__name__}: {', '.join(unknown)}")
    return cls(**data)


def load_settings(cls, path):
    """Settings from a JSON file; the dataclass's defaults when the file does not exist."""
    if not path or not os.path.exists(path):
        return cls()
    with open(path, encoding="utf-8") as f:
        return settings_from(cls, json.load(f))


def settings_json(settings) -> str:
    """The text the deploy writes for a settings dataclass (stable, so re-runs change nothing)."""
    return json.dumps(dataclasses.asdict(settings), indent=1, sort_keys=True) + "\n"


JOURNAL_SOCKET = "/run/systemd/journal/socket"


def journal(identifier: str, message: str) -> None:
    """One line in the journal under another program's name (the activator runs the
    watchdog's pass: its switches stay the watchdog's lines). Printed when there is no
    journal (tests, a host without systemd)."""
    line = " ".join(message.splitlines())
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto(f"SYSLOG_IDENTIFIER={identifier}\nMESSAGE={line}\n".encode(),
                        JOURNAL_SOCKET)
    except OSError:
        print(f"{identifier}: {line}", flush=True)
