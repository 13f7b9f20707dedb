"""Checks before connecting: what `deploy`, `verify`, `publish` and `memoria collect` need,
checked before pyinfra, ssh or paramiko try a host, so a missing key, a host that is down or
a host key that is not the pinned one stops the command with one error and its fix, not a
traceback halfway through (docs/inventory.md, "Checks before connecting").

1. every private key file the command will use exists and is readable;
2. every host's SSH port takes a TCP connection within CONNECT_TIMEOUT_S (all at once);
3. the key the SSH server shows is the inventory's pinned `host_key` (handshake only, no login).
"""

from __future__ import annotations

import base64
import logging
import os
import socket
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from prep_iac.errors import PrepError

CONNECT_TIMEOUT_S = 3.0
HANDSHAKE_TIMEOUT_S = 10.0
# What paramiko must ask for to be shown a key of the pinned type.
_ALGORITHMS = {"ssh-rsa": ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]}


_QUIET = logging.getLogger("prep_iac.preflight.ssh")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False


@dataclass(frozen=True)
class Target:
    name: str
    address: str
    port: int
    host_key: str | None = None  # "TYPE BASE64 [comment]", the pin


def targets(inventory, hosts: Iterable[str]) -> list[Target]:
    all_hosts = inventory.hosts()
    return [Target(n, all_hosts[n].address, all_hosts[n].ssh_port, all_hosts[n].host_key)
            for n in hosts]


def key_problems(files: Iterable[tuple[str, str, str | None]]) -> list[str]:
    """(owner, field, path) triples whose file is missing or unreadable, one line each."""
    out = []
    for owner, field, path in files:
        if not path:
            continue
        if not Path(path).is_file():
            out.append(f"{owner}: {field} {path} does not exist on this machine")
        elif not os.access(path, os.R_OK):
            out.append(f"{owner}: {field} {path} is not readable by this user")
        elif field in PARAMIKO_KEYS and (why := _unusable(path)):
            out.append(f"{owner}: {field} {why}")
    return out


# Keys paramiko (pyinfra's SSH, the push) loads itself; signing_key goes to ssh-keygen -Y sign.
PARAMIKO_KEYS = ("ssh_key", "sftp_identity")


def _unusable(path: str) -> str | None:
    from prep_iac.onhost.publisher.connect import PushError, load_private_key

    try:
        load_private_key(path)
    except PushError as exc:
        return str(exc)
    return None


def check_keys(files: Iterable[tuple[str, str, str | None]]) -> None:
    problems = key_problems(files)
    if problems:
        raise PrepError("private key file(s) missing or unusable:\n"
                        + "\n".join(f"  {p}" for p in problems),
                        "put the key there (unencrypted: nothing asks for a passphrase), or point "
                        "the inventory's field at the right file "
                        "(paths are relative to the inventory file; ~ works)")


def _tcp(target: Target, timeout: float) -> str | None:
    """Why the host's SSH port does not answer, or None: it takes the connection and shows an
    SSH banner ("SSH-2.0-...") within `timeout` seconds all told."""
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection((target.address, target.port), timeout=timeout) as sock:
            data = b""
            while b"\n" not in data and len(data) < 1024:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                chunk = sock.recv(256)
                if not chunk:
                    break
                data += chunk
    except TimeoutError:
        return f"no SSH answer within {timeout:g} s"
    except OSError as exc:
        return exc.strerror or str(exc)
    if not data.startswith(b"SSH-") and b"\nSSH-" not in data:
        return "something answers, but not an SSH server"
    return None


def unreachable(hosts: list[Target], timeout: float = CONNECT_TIMEOUT_S) -> dict[str, str]:
    """{host name: why} for every host whose SSH port does not take a TCP connection."""
    if not hosts:
        return {}
    with ThreadPoolExecutor(max_workers=min(32, len(hosts))) as pool:
        reasons = list(pool.map(lambda t: _tcp(t, timeout), hosts))
    return {t.name: f"{t.address}:{t.port}: {why}" for t, why in zip(hosts, reasons) if why}


def shown_key(target: Target, timeout: float = HANDSHAKE_TIMEOUT_S) -> tuple[str, bytes]:
    """(type, blob) of the host key the server shows when asked only for the pinned type."""
    import paramiko

    kind = target.host_key.split()[0]
    sock = socket.create_connection((target.address, target.port), timeout=timeout)
    transport = paramiko.Transport(sock)
    transport.set_log_channel(_QUIET.name)  # its thread's tracebacks: not on the terminal
    try:
        transport.banner_timeout = timeout
        options = transport.get_security_options()
        options.key_types = [k for k in _ALGORITHMS.get(kind, [kind]) if k in options.key_types]
        transport.start_client(timeout=timeout)
        key = transport.get_remote_server_key()
        return key.get_name(), key.asbytes()
    finally:
        transport.close()


def _fingerprint(blob: bytes) -> str:
    from prep_iac.onhost.publisher.connect import fingerprint

    return fingerprint(blob)


def host_key_problem(target: Target) -> tuple[str, str] | None:
    """("pin", why) when the server's key is not the pin, ("down", why) when the handshake
    did not finish (a timeout, a reset: the host's problem, not the pin's), or None when the
    key is the pin (or is not pinned, or of a type paramiko cannot ask for: then ssh's own
    strict check still applies)."""
    import paramiko

    if not target.host_key:
        return None
    kind, blob64 = target.host_key.split()[:2]
    if not any(k in paramiko.Transport._preferred_keys for k in _ALGORITHMS.get(kind, [kind])):
        return None
    pinned = base64.b64decode(blob64)
    where = f"{target.name} ({target.address}:{target.port})"
    try:
        _, blob = shown_key(target)
    except paramiko.SSHException as exc:
        text = str(exc) or type(exc).__name__
        # No key of the pinned type on offer is the pin's problem; anything else, the host's.
        refused = "host key" in text.lower() or "incompatible" in text.lower()
        return ("pin" if refused else "down",
                f"{where}: no SSH handshake asking for its pinned {kind} key: {text}")
    except (OSError, EOFError) as exc:
        why = exc or type(exc).__name__
        return "down", f"{target.address}:{target.port}: SSH handshake unfinished: {why}"
    if blob != pinned:
        shown, pin = _fingerprint(blob), _fingerprint(pinned)
        return "pin", f"{where} shows host key {kind} {shown}; the inventory pins {pin}"
    return None


def source_address(target: Target) -> str | None:
    """The address this machine would send from to reach the host (no packet is sent)."""
    try:
        family = socket.getaddrinfo(target.address, target.port, type=socket.SOCK_DGRAM)[0]
        with socket.socket(family[0], socket.SOCK_DGRAM) as s:
            s.connect(family[4])
            return s.getsockname()[0].split("%")[0]
    except OSError:
        return None


def check_hosts(hosts: list[Target], *, warn: Callable[[str], None] | None = None,
                admins=None) -> list[str]:
    """Reachability, then the pins of the reachable hosts. With `warn`, unreachable hosts are
    reported through it and returned (the command records them itself); without, they stop
    the command. A host key that is not the pin always stops it."""
    down = unreachable(hosts)
    up = [t for t in hosts if t.name not in down and t.host_key]
    problems = []
    if up:
        with ThreadPoolExecutor(max_workers=min(32, len(up))) as pool:
            for t, found in zip(up, pool.map(host_key_problem, up)):
                if found and found[0] == "down":
                    down[t.name] = found[1]
                elif found:
                    problems.append(found[1])
    if admins is not None:  # a hint: behind NAT the host sees another address
        for t in hosts:
            src = source_address(t) if t.name in down else None
            if src and not admins.allows(src):
                down[t.name] += (f"; this machine sends from {src}, which is not in "
                                 f"admins.networks (SSH answers only there)")
    if down and warn is None:
        raise PrepError("cannot reach SSH on:\n" + "\n".join(f"  {n}: {why}"
                                                             for n, why in down.items()),
                        "check that each host is up, that address and ssh_port in the inventory "
                        "are right, and that this machine is in admins.networks, then retry")
    for name, why in down.items():
        warn(f"{name}: cannot reach SSH ({why})")
    if problems:
        raise PrepError("host key not the pinned one:\n" + "\n".join(f"  {p}" for p in problems),
                        "check the key with the host's administrator out of band (console: "
                        "ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub); if it is right, re-pin "
                        "it: ssh-keyscan -p PORT ADDRESS, then set host_key in the inventory")
    return list(down)


def check(inventory, hosts: Iterable[str], *, key_fields: tuple[str, ...] = ("ssh_key",),
          warn: Callable[[str], None] | None = None) -> list[str]:
    """All three checks for these hosts of a typed inventory; returns the unreachable ones
    (only with `warn`; without, they raise PrepError like every other problem)."""
    hosts = list(hosts)
    all_hosts = inventory.hosts()
    check_keys((n, f, getattr(all_hosts[n], f, None)) for n in hosts for f in key_fields)
    return check_hosts(targets(inventory, hosts), warn=warn, admins=inventory.admins)


def check_publish(registry, warn: Callable[[str], None]) -> None:
    """Before a push: the publisher's keys must be here (else PrepError); a difusor that does
    not answer is only warned about, the push records its failure and goes on to the others.
    Each push checks the pinned host key itself (a mismatch is that difusor's failure)."""
    check_keys([("publisher", "sftp_identity", registry.sftp_identity),
                ("publisher", "signing_key", registry.signing_key)])
    down = unreachable([Target(d.name, d.address, d.ssh_port) for d in registry.difusores])
    for name, why in down.items():
        warn(f"{name}: cannot reach SSH ({why}); the push to it will fail, the others go on")
