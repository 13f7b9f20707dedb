"""One booted host: its nspawn launcher, the process tree below it, readiness, clean stop.

Process tree: launcher (sh, restarts nspawn on 133 = reboot) -> systemd-nspawn -> the host's
PID 1. The launcher joins the host's cgroups first, so everything the host runs can be found
and, if a clean poweroff fails, ended as a whole.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

# nspawn exits 133 when the host reboots; `unshare --time` (no --fork: nspawn keeps the
# launcher's pid as parent) gives each boot an uptime from zero, which pyinfra's reboot
# check relies on.
LAUNCHER = r"""
for f in $PREP_CGROUP_PROCS; do echo $$ > "$f" || exit 97; done
while :; do
  u=$(cut -d. -f1 /proc/uptime)
  unshare --time --boottime -$u --monotonic -$u "$@"
  rc=$?
  echo "[prep-iac] systemd-nspawn exited rc=$rc"
  [ $rc -eq 133 ] || exit $rc
done
"""


def loop_device_nodes() -> list[str]:
    """The controller's loop devices, for a host that is to attach images (the jail's own
    filesystem): the control node and every device node there is."""
    nodes = sorted(str(p) for p in Path("/dev").glob("loop[0-9]*"))
    return ["/dev/loop-control", *nodes] if Path("/dev/loop-control").exists() else []


def nspawn_command(root: Path, machine: str, hostname: str, bridge: str,
                   devices: list[str] = ()) -> list[str]:
    return ["systemd-nspawn", "--boot", f"--directory={root}", f"--machine={machine}",
            f"--hostname={hostname}", "--register=no", "--keep-unit",
            "--console=read-only", f"--network-bridge={bridge}", "--resolv-conf=off",
            "--timezone=off", "--link-journal=no", *(f"--bind={d}" for d in devices)]


def launch(nspawn: list[str], cgroup_procs: list[Path], log: Path) -> int:
    """Start the launcher detached from us; returns its pid."""
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
           "PREP_CGROUP_PROCS": " ".join(str(p) for p in cgroup_procs)}
    with open(log, "ab") as out:
        proc = subprocess.Popen(["/bin/sh", "-c", LAUNCHER, "prep-iac-launcher", *nspawn],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                start_new_session=True, close_fds=True, env=env)
    return proc.pid


def alive(pid: int | None) -> bool:
    """True for a running process; reaps it first when it is our own exited child."""
    if not pid:
        return False
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def nspawn_pid(launcher: int | None) -> int | None:
    if not alive(launcher):
        return None
    for child in children(launcher):
        if "nspawn" in " ".join(cmdline(child)[:1]):
            return child
    return None


def leader_pid(launcher: int | None) -> int | None:
    """The host's PID 1, as seen from the controller."""
    nspawn = nspawn_pid(launcher)
    if nspawn is None:
        return None
    for child in children(nspawn):
        try:
            for line in Path(f"/proc/{child}/status").read_text().splitlines():
                if line.startswith("NSpid:") and line.split()[-1] == "1":
                    return child
        except OSError:
            continue
    return None


def nsenter(leader: int, cmd: list[str], **kw) -> subprocess.CompletedProcess:
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    check = kw.pop("check", False)
    return subprocess.run(["nsenter", "-t", str(leader), "-a", *cmd], check=check, **kw)


def tcp_open(address: str, port: int = 22, timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_ready(launcher: int, address: str, deadline: float) -> str:
    """Wait for systemd running|degraded inside and sshd accepting; returns the state.

    Raises TimeoutError (with the last state seen) or RuntimeError when the host died.
    """
    state = "booting"
    while time.monotonic() < deadline:
        if not alive(launcher):
            raise RuntimeError("the host exited while booting")
        leader = leader_pid(launcher)
        if leader is not None and tcp_open(address):
            left = max(0.5, deadline - time.monotonic())
            try:
                out = nsenter(leader, ["systemctl", "is-system-running", "--wait"],
                              timeout=left).stdout.strip()
            except subprocess.TimeoutExpired:
                out = "starting"
            state = out or "unknown"
            if state in ("running", "degraded"):
                return state
        time.sleep(0.1)
    raise TimeoutError(state)


def stop(launcher: int | None, timeout: float = 20.0) -> bool:
    """Clean poweroff (SIGTERM to nspawn), SIGKILL after ``timeout``; True when clean."""
    if not alive(launcher):
        return True
    nspawn = nspawn_pid(launcher)
    if nspawn is not None:
        os.kill(nspawn, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(launcher):
            return True
        time.sleep(0.1)
    kill_tree(launcher)
    return False


def kill_tree(launcher: int) -> None:
    """SIGKILL the launcher first (no restart), then the host's PID 1 (its whole pid
    namespace goes with it), then nspawn."""
    leader, nspawn = leader_pid(launcher), nspawn_pid(launcher)
    for pid in (launcher, leader, nspawn):
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(alive(p) for p in (launcher, leader, nspawn)):
        time.sleep(0.05)
