"""HA pair (CONV-II.a.2): keepalived from the distribution moves a floating address between
two difusores when nginx or a node fails. The firewall lets VRRP (protocol 112) in from the
peer (docs/contracts.md); the publisher pushes every cut to both nodes."""

import re

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.facts.server import Command
from pyinfra.operations import apt, files, server, systemd
from pyinfra.operations.util import any_changed

from prep_iac import paths
from prep_iac.components import distro
from prep_iac.components.common import config
from prep_iac.inventory.hostconfig import HostConfig

CONF = "/etc/keepalived/keepalived.conf"
_IFNAME = re.compile(r"[A-Za-z0-9_.:-]{1,15}")  # Linux: at most 15 bytes, no space or slash


def context(cfg: HostConfig, interface: str) -> dict:
    d, peer = cfg.host, cfg.ha_peer
    return {"node_name": cfg.name, "peer_name": d.ha.peer, "interface": interface,
            "router_id": d.ha.router_id, "priority": d.ha.priority, "address": d.address,
            "peer_address": peer.address, "floating": d.ha.floating_address}


def interface_of(address: str) -> str:
    """The interface that holds the host's inventory address (where VRRP and the VIP go)."""
    name = host.get_fact(Command, command=f"ip -o addr show to {address} | awk '{{print $2; exit}}'")
    if not name:
        raise RuntimeError(f"{host.name}: no interface has address {address}; "
                           "the HA pair needs it for VRRP and the floating address")
    name = name.strip().split("@")[0]
    if not _IFNAME.fullmatch(name):
        raise RuntimeError(f"{host.name}: interface name {name!r} of {address} is not one "
                           "keepalived.conf can hold")
    return name


@deploy("ha: keepalived")
def keepalived():
    cfg = config()
    if not cfg.host.ha:  # a single difusor: nothing to do
        return
    apt.packages(name="keepalived", packages=distro.for_host()["keepalived_packages"],
                 update=True, cache_time=3600)
    conf = files.template(name="keepalived.conf", src=paths.template("keepalived", "keepalived.conf.j2"),
                          dest=CONF, user="root", group="root", mode="644",
                          **context(cfg, interface_of(cfg.host.address)))
    # keepalived -t checks the file before the running instance is asked to reload it.
    server.shell(name="keepalived -t, then reload", _if=any_changed(conf),
                 commands=[f"keepalived -t -f {CONF}",
                           "systemctl reload keepalived || systemctl restart keepalived"])
    systemd.service(name="keepalived running and enabled", service="keepalived", running=True,
                    enabled=True)
