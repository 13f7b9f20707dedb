"""ssh_config blocks and known_hosts files, written one way for every caller: the lab's
ssh_config, verify's and the drill's (conformance/sshconfig.py), and the pinned host keys
pyinfra connects with (inventory/to_pyinfra.py).

Standard library only.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

# --- ssh_config ----------------------------------------------------------------------------


def block(patterns: Iterable[str], options: dict[str, object], comment: str | None = None) -> str:
    """One `Host` block, its options in the order given."""
    lines = [f"# {comment}"] if comment else []
    lines.append("Host " + " ".join(patterns))
    lines += [f"  {key} {value}" for key, value in options.items()]
    return "\n".join(lines) + "\n"


def config(blocks: Iterable[str]) -> str:
    """Blocks separated by a blank line."""
    return "\n".join(blocks)


def identity(key: str | os.PathLike) -> dict[str, object]:
    """This key and no other: an agent's many keys would use up sshd's MaxAuthTries."""
    return {"IdentityFile": key, "IdentitiesOnly": "yes"}


def pinned(known_hosts: str | os.PathLike, *, only: bool = False) -> dict[str, object]:
    """Trust the host keys in `known_hosts` alone: a changed key is an error, never a prompt.
    `only` also ignores the system-wide known_hosts."""
    options: dict[str, object] = {"UserKnownHostsFile": known_hosts}
    if only:
        options["GlobalKnownHostsFile"] = "/dev/null"
    options["StrictHostKeyChecking"] = "yes"
    return options


def multiplexed(control_dir: str | os.PathLike, persist: object, *, connect_timeout: int,
                alive_interval: int) -> dict[str, object]:
    """Never prompts, and shares one connection per host (ControlMaster) between the many
    short commands of a run: a fresh handshake each would cost more than most commands."""
    return {"BatchMode": "yes", "ControlMaster": "auto", "ControlPath": f"{control_dir}/%C",
            "ControlPersist": persist, "ConnectTimeout": connect_timeout,
            "ServerAliveInterval": alive_interval, "LogLevel": "ERROR"}


# --- known_hosts ----------------------------------------------------------------------------


def known_host_lines(names: Iterable[str], port: int, keys: Iterable[str]) -> list[str]:
    """known_hosts lines for one host: `name,address type base64` (`[name]:port` off port 22),
    one per key; the keys' comments are dropped."""
    target = ",".join(n if port == 22 else f"[{n}]:{port}" for n in names)
    return [" ".join([target, *key.split()[:2]]) for key in keys]


def text(lines: Iterable[str]) -> str:
    return "".join(f"{line}\n" for line in lines)


# --- writing ---------------------------------------------------------------------------------


def write(target: Path, content: str, mode: int = 0o600) -> Path:
    """Write `content` to `target` atomically, unless it already holds exactly that.

    The temp file gets a name of its own: the drill deploys difusores and publishers at once,
    and two processes sharing one temp name lost the race (one renamed the other's file away).
    """
    target = Path(target)
    try:
        if target.read_text() == content:
            return target
    except OSError:
        pass
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(content)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
