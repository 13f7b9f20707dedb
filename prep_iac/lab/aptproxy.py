"""The one apt proxy every lab host installs packages through (apt-cacher-ng).

It listens on 127.0.0.1 and on a fixed address on a dummy link, which hosts of every lab
reach through their own gateway (the lab's bridge): labs on different bridges share one
cache, and nothing but the proxy's own fetches leaves the machine. Its Debian backend is the
machine's own mirror. There is no init system here: it is started with start-stop-daemon and
found again by its pid file.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from prep_iac.errors import PrepError
from prep_iac.lab import mirror, network
from prep_iac.lab.layout import APT_DIR, LABS_ROOT
from prep_iac.lab.locks import locked
from prep_iac.lab.spec import APT_PROXY_ADDRESS

PORT = 3142
DUMMY = "prep-apt0"
ADDRESS = str(APT_PROXY_ADDRESS)
URL = f"http://{ADDRESS}:{PORT}"
USER = "apt-cacher-ng"
SYSTEM_CONF = Path("/etc/apt-cacher-ng")
CONF_DIR = APT_DIR / "conf"
RUN_DIR = Path("/run/prep-iac")
PIDFILE = RUN_DIR / "apt-cacher-ng.pid"
LOCK = APT_DIR / "lock"
BINARY = "/usr/sbin/apt-cacher-ng"


def running_pid() -> int | None:
    try:
        pid = int(PIDFILE.read_text().split()[0])
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except (OSError, ValueError, IndexError):
        return None
    return pid if comm == "apt-cacher-ng" else None


def _write_conf() -> None:
    """A private copy of the packaged config: /etc/apt-cacher-ng stays as installed."""
    if CONF_DIR.exists():
        shutil.rmtree(CONF_DIR)
    shutil.copytree(SYSTEM_CONF, CONF_DIR, symlinks=True)
    (CONF_DIR / "backends_debian").write_text(mirror.detect().backend() + "\n")
    shutil.chown(CONF_DIR, group=USER)
    for path in CONF_DIR.iterdir():
        shutil.chown(path, group=USER)


def _listening(host: str, timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((host, PORT), timeout=timeout):
            return True
    except OSError:
        return False


def ensure() -> str:
    """Start the proxy unless it runs already; returns the URL hosts use."""
    with locked(LOCK):
        return _ensure()


def _ensure() -> str:
    if not os.path.exists(BINARY):
        raise PrepError("apt-cacher-ng is not installed",
                        "run ./dev bootstrap (or apt-get install apt-cacher-ng)")
    network.ensure_dummy(DUMMY, ADDRESS)
    if running_pid() is not None:
        return URL
    if _listening("127.0.0.1"):
        raise PrepError(f"something else listens on 127.0.0.1:{PORT}",
                        "stop that apt-cacher-ng: prep-iac starts its own with the lab's config")
    _write_conf()
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    shutil.chown(RUN_DIR, user=USER, group=USER)
    proc = subprocess.run(
        ["start-stop-daemon", "--start", "--oknodo", "--chuid", f"{USER}:{USER}", "--chdir", "/",
         "--pidfile", str(PIDFILE), "--exec", BINARY, "--",
         "-c", str(CONF_DIR), f"pidfile={PIDFILE}", f"SocketPath={RUN_DIR}/acng.socket",
         "foreground=0", f"Port={PORT}", f"BindAddress=127.0.0.1 {ADDRESS}"],
        capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise PrepError(f"apt-cacher-ng did not start: {proc.stderr.strip()}",
                        "see /var/log/apt-cacher-ng/apt-cacher.err")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if running_pid() is not None and _listening(ADDRESS):
            return URL
        time.sleep(0.1)
    raise PrepError("apt-cacher-ng started but does not answer on " + URL,
                    "see /var/log/apt-cacher-ng/apt-cacher.err")


def labs_left() -> bool:
    return LABS_ROOT.is_dir() and any(LABS_ROOT.iterdir())


def stop_if_unused() -> bool:
    """Stop the proxy when no lab is left (a lab's directory exists before it asks for the
    proxy, so checking under the lock cannot stop it under a lab that is coming up)."""
    with locked(LOCK):
        if labs_left():
            return False
        _stop()
        return True


def _stop() -> None:
    """Stop the proxy this tool started (by its pid) and drop its dummy link."""
    pid = running_pid()
    if pid is not None:
        os.kill(pid, 15)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and running_pid() is not None:
            time.sleep(0.1)
    PIDFILE.unlink(missing_ok=True)
    network.delete_link(DUMMY)
