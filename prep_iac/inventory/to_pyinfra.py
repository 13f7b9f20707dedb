"""Turn a validated inventory into pyinfra groups: host data carries the connection and a
typed ``prep`` view; the same groups feed the API (tests, verify) and the .py shims."""

import hashlib
import os
from pathlib import Path

from prep_iac import sshconf
from prep_iac.inventory.hostconfig import HostConfig
from prep_iac.inventory.loader import load_inventory
from prep_iac.inventory.roles import GROUP_ROLES
from prep_iac.inventory.schema import Inventory


def pyinfra_groups(inventory: Inventory, path: Path) -> dict[str, tuple[list, dict]]:
    """``{"difusores": ([(name, data), ...], group_data), "publishers": ...}``"""
    known_hosts = write_known_hosts(inventory, path)
    groups = {}
    for group, role in GROUP_ROLES.items():
        hosts = []
        for name, host in getattr(inventory, group).items():
            user = inventory.ssh_user(name)
            data = {
                "ssh_hostname": host.address,
                "ssh_port": host.ssh_port,
                "ssh_user": user,
                "prep": HostConfig(inventory, path, name, role),
            }
            if host.ssh_key:
                data["ssh_key"] = host.ssh_key
            if user != "root":
                data["_sudo"] = True
            if host.host_key:
                # Pinned host keys: a changed key is an error, never a prompt.
                data["ssh_known_hosts_file"] = str(known_hosts)
                data["ssh_strict_host_key_checking"] = "yes"
            hosts.append((name, data))
        groups[group] = (hosts, {"prep_role": role})
    return groups


def pyinfra_inventory(path: str | os.PathLike):
    """A ``pyinfra.api.Inventory`` for the YAML inventory at ``path``."""
    from pyinfra.api import Inventory as PyinfraInventory

    path = Path(path).resolve()
    groups = pyinfra_groups(load_inventory(path), path)
    names = [host for hosts, _ in groups.values() for host in hosts]
    return PyinfraInventory((names, {}), **groups)


def known_hosts_lines(inventory: Inventory) -> list[str]:
    lines = []
    for host in inventory.hosts().values():
        if host.host_key:
            lines += sshconf.known_host_lines([host.address], host.ssh_port, [host.host_key])
    return lines


def write_known_hosts(inventory: Inventory, path: Path) -> Path:
    """known_hosts built from the inventory's pins, in a per-inventory cache file."""
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "prep-iac"
    cache.mkdir(parents=True, exist_ok=True)
    tag = hashlib.sha256(str(path).encode()).hexdigest()[:16]
    return sshconf.write(cache / f"known_hosts-{tag}", sshconf.text(known_hosts_lines(inventory)))
