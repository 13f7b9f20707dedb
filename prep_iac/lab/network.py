"""The lab's links on the controller: one bridge per lab, veths nspawn plugs into it."""

from __future__ import annotations

import ipaddress
import json
import subprocess

from prep_iac.errors import PrepError


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise PrepError(f"ip {' '.join(args)} failed: {proc.stderr.strip()}",
                        "run as root on a machine with iproute2")
    return proc


def links() -> list[dict]:
    return json.loads(_ip("-j", "link", "show").stdout or "[]")


def link_exists(name: str) -> bool:
    return any(link["ifname"] == name for link in links())


def ports_of(bridge: str) -> list[str]:
    return [link["ifname"] for link in links() if link.get("master") == bridge]


def addresses() -> list[tuple[str, ipaddress.IPv4Interface]]:
    """(link, address/prefix) of every IPv4 address on the controller."""
    out = []
    for link in json.loads(_ip("-j", "addr", "show").stdout or "[]"):
        for a in link.get("addr_info", []):
            if a.get("family") == "inet":
                out.append((link["ifname"],
                            ipaddress.IPv4Interface(f"{a['local']}/{a['prefixlen']}")))
    return out


def check_free(subnet: str, bridge: str) -> None:
    """Refuse a subnet another link already uses (another lab, the uplink, ...)."""
    net = ipaddress.IPv4Network(subnet)
    for ifname, iface in addresses():
        if ifname != bridge and iface.network.overlaps(net):
            raise PrepError(f"subnet {net} overlaps {iface} on {ifname}",
                            "pick another subnet with --subnet or PREP_LAB_SUBNET")


def ensure_bridge(bridge: str, gateway: str, prefixlen: int) -> bool:
    """Create the bridge with the gateway address; True when it was created now."""
    created = False
    if not link_exists(bridge):
        _ip("link", "add", bridge, "type", "bridge")
        created = True
    want = ipaddress.IPv4Interface(f"{gateway}/{prefixlen}")
    if not any(n == bridge and a == want for n, a in addresses()):
        _ip("addr", "add", str(want), "dev", bridge)
    _ip("link", "set", bridge, "up")
    return created


def delete_link(name: str) -> None:
    if link_exists(name):
        _ip("link", "del", name, check=False)


def remove_bridge(bridge: str) -> None:
    """Delete the bridge and whatever veths are still plugged into it."""
    for port in ports_of(bridge):
        delete_link(port)
    delete_link(bridge)


def ensure_dummy(name: str, address: str) -> None:
    """A link holding one /32 that every lab reaches through its gateway. A dummy link when
    the kernel has one; else a bridge with no ports (kernels without modules lack dummy)."""
    if not link_exists(name) and _ip("link", "add", name, "type", "dummy",
                                     check=False).returncode != 0:
        _ip("link", "add", name, "type", "bridge")
    if not any(n == name and str(a.ip) == address for n, a in addresses()):
        _ip("addr", "add", f"{address}/32", "dev", name)
    _ip("link", "set", name, "up")
