"""An ssh_config for one inventory: every host with its address, port, user, key and the
inventory's pinned host keys, and connection multiplexing (ControlMaster), which makes the
hundreds of small testinfra commands of a verify ~10x faster than one ssh each."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from prep_iac.inventory.schema import Inventory
from prep_iac.inventory.to_pyinfra import write_known_hosts

CONTROL_PERSIST_S = 120
CONNECT_TIMEOUT_S = 10


def control_dir() -> Path:
    """Sockets live in a short private path: a unix socket path is limited to 108 bytes."""
    path = Path(tempfile.gettempdir()) / f"prep-iac-cm-{os.getuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def render(inventory: Inventory, known_hosts: Path | None, cm_dir: Path) -> str:
    blocks = []
    for name, host in inventory.hosts().items():
        lines = [f"# {name}", f"Host {host.address}", f"  HostName {host.address}",
                 f"  Port {host.ssh_port}", f"  User {inventory.ssh_user(name)}"]
        if host.ssh_key:
            lines += [f"  IdentityFile {host.ssh_key}", "  IdentitiesOnly yes"]
        if host.host_key and known_hosts:
            # Pinned keys only: a changed host key is an error, never a prompt.
            lines += [f"  UserKnownHostsFile {known_hosts}", "  StrictHostKeyChecking yes"]
        lines += ["  BatchMode yes", "  ControlMaster auto", f"  ControlPath {cm_dir}/%C",
                  f"  ControlPersist {CONTROL_PERSIST_S}", f"  ConnectTimeout {CONNECT_TIMEOUT_S}",
                  "  ServerAliveInterval 10", "  LogLevel ERROR"]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def write_ssh_config(inventory: Inventory, inventory_path: Path, target: Path) -> Path:
    known = write_known_hosts(inventory, Path(inventory_path).resolve())
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render(inventory, known, control_dir()))
    target.chmod(0o600)
    return target


def open_master(config: Path, address: str, timeout: float = 30) -> subprocess.CompletedProcess:
    """Connect once (starting the shared connection); the result tells why when it cannot."""
    try:
        return subprocess.run(["ssh", "-F", str(config), address, "true"], capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(["ssh", address, "true"], 255, "",
                                           f"ssh no respondió en {timeout:.0f} s")


def close_master(config: Path, address: str) -> None:
    subprocess.run(["ssh", "-F", str(config), "-O", "exit", address], capture_output=True,
                   timeout=10, stdin=subprocess.DEVNULL, check=False)
