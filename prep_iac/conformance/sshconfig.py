"""An ssh_config for one inventory: every host with its address, port, user, key and the
inventory's pinned host keys, and connection multiplexing (ControlMaster), which makes the
hundreds of small testinfra commands of a verify ~10x faster than one ssh each."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from prep_iac import sshconf
from prep_iac.contract import READER_USER
from prep_iac.inventory.schema import Inventory
from prep_iac.inventory.to_pyinfra import write_known_hosts

CONTROL_PERSIST_S = 120
CONNECT_TIMEOUT_S = 10


def control_dir() -> Path:
    """The shared connections' sockets, of this run alone: a run that ends closes its
    connections, so two at once (a drill's opening and closing verify, an audit or the
    drill's own commands beside them) must not share one. A short private path: a unix
    socket path is limited to 108 bytes. Removed when the process exits."""
    base = Path(tempfile.gettempdir()) / f"prep-iac-cm-{os.getuid()}"
    base.mkdir(mode=0o700, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="", dir=base))
    atexit.register(shutil.rmtree, path, True)
    return path


def render(inventory: Inventory, known_hosts: Path | None, cm_dir: Path,
           as_reader: str | Path | None = None) -> str:
    """`as_reader`: the Institute's private key; every host is entered as its read-only
    account (contract.READER_USER) with it, instead of as the inventory's admin."""
    blocks = []
    for name, host in inventory.hosts().items():
        options = {"HostName": host.address, "Port": host.ssh_port,
                   "User": READER_USER if as_reader else inventory.ssh_user(name)}
        key = as_reader or host.ssh_key
        if key:
            options |= sshconf.identity(key)
        if host.host_key and known_hosts:
            options |= sshconf.pinned(known_hosts)
        options |= sshconf.multiplexed(cm_dir, CONTROL_PERSIST_S,
                                       connect_timeout=CONNECT_TIMEOUT_S, alive_interval=10)
        blocks.append(sshconf.block([host.address], options, comment=name))
    return sshconf.config(blocks)


def write_ssh_config(inventory: Inventory, inventory_path: Path, target: Path,
                     as_reader: str | Path | None = None) -> Path:
    known = write_known_hosts(inventory, Path(inventory_path).resolve())
    target.parent.mkdir(parents=True, exist_ok=True)
    return sshconf.write(target, render(inventory, known, control_dir(), as_reader))


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
