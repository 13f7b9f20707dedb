"""Firewall (CONV-II.d.1): the `inet prep` nftables table, default drop, SSH from admin
(and, on difusores, IEC) networks only, the web ports to anyone under per-source caps,
checked with `nft -c` before it is loaded and kept across reboots by nftables.service, which
a unit drop-in points at our ruleset file (Debian's /etc/nftables.conf stays as shipped)."""

import ipaddress
from io import StringIO

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import apt, files, server, systemd

from prep_iac.components import conffiles, converge, distro
from prep_iac.components.common import config, install_validated, refuse_lockout, render
from prep_iac.facts.nftables import NftRuleset
from prep_iac.facts.sshd import SshdConfig, SshSession
from prep_iac.inventory.roles import DIFUSOR

# ICMP echo answered per host, not per source: enough for monitoring and path tests.
ICMP_RATE, ICMP_BURST = 20, 50
RULESET = "/etc/prep-firewall/ruleset.nft"  # ours; loaded by nftables.service (unit drop-in)
FRAGMENTS = "/etc/nftables.d"  # other components' fragments, included by the ruleset


def unit_dropin() -> str:
    return ("# Managed by prep-iac (firewall component, docs/security.md): the PREP ruleset,\n"
            "# not Debian's /etc/nftables.conf (kept as the package ships it, unused).\n"
            "[Service]\nExecStart=\n"
            f"ExecStart=/usr/sbin/nft -f {RULESET}\n"
            "ExecReload=\n"
            f"ExecReload=/usr/sbin/nft -f {RULESET}\n")


def split_networks(cidrs) -> tuple[list[str], list[str]]:
    """IPv4 and IPv6 networks, merged and sorted (overlaps would make nft refuse the set)."""
    nets = [ipaddress.ip_network(c, strict=False) for c in cidrs]
    v4 = ipaddress.collapse_addresses(n for n in nets if n.version == 4)
    v6 = ipaddress.collapse_addresses(n for n in nets if n.version == 6)
    return [str(n) for n in v4], [str(n) for n in v6]


def context(cfg, ssh_ports: list[int]) -> dict:
    """Everything the ruleset template needs, from the typed inventory."""
    difusor = cfg.role == DIFUSOR
    ssh_sources = list(cfg.admins.networks) + (list(cfg.iec.sources) if difusor else [])
    ssh4, ssh6 = split_networks(ssh_sources)
    ctx = {"ssh_iec": difusor, "ssh4": ssh4, "ssh6": ssh6, "web": difusor,
           "ssh_port": ports_expr(ssh_ports), "icmp_rate": ICMP_RATE,
           "icmp_burst": ICMP_BURST, "vrrp_peers": [], "ssh_out": []}
    if difusor:
        limits = cfg.host.rate_limits
        ctx.update(
            new_rate=limits.new_connections_per_s, new_burst=2 * limits.new_connections_per_s,
            conn_max=limits.connections,
            # Whole-host SYN budget: what the declared link could carry anyway (a new
            # connection plus its first page ≈ 10 kB/s each… per Mbps, ~100 new/s), never
            # below 1000/s. It bounds conntrack growth under a spoofed-source flood.
            syn_rate=max(1000, 100 * cfg.host.link_mbps),
            syn_burst=2 * max(1000, 100 * cfg.host.link_mbps))
        if cfg.ha_peer is not None:
            ctx["vrrp_peers"] = [cfg.ha_peer.address]
    else:
        ctx["ssh_out"] = [{"name": name, "address": d.address, "port": d.ssh_port}
                          for name, d in sorted(cfg.inventory.difusores.items())]
    return ctx


def ports_expr(ports: list[int]) -> str:
    ports = sorted(set(ports))
    return str(ports[0]) if len(ports) == 1 else "{ " + ", ".join(map(str, ports)) + " }"


def ruleset(cfg, ssh_ports: list[int]) -> str:
    return render("nftables", "nftables.conf.j2", **context(cfg, ssh_ports))


def sshd_ports() -> list[int]:
    """The ports sshd listens on (what the firewall must keep open), plus the one this
    deploy came in on."""
    ports = {int(p) for p in host.get_fact(SshdConfig).get("port", []) if p.isdigit()}
    session = host.get_fact(SshSession, _sudo=False)
    if session.get("server_port"):
        ports.add(session["server_port"])
    return sorted(ports or {config().host.ssh_port})


@deploy("firewall.nftables")
def nftables():
    refuse_lockout()
    cfg = config()
    d = distro.for_host()
    apt.update(name="package lists (at most hourly)", cache_time=3600)
    apt.packages(name="nftables", packages=["nftables"])
    files.directory(name=f"{FRAGMENTS} (other components' fragments)", path=FRAGMENTS,
                    mode="0755")
    files.directory(name="ruleset directory", path=RULESET.rsplit("/", 1)[0], mode="0755")
    conffiles.restored(d["nftables_conf"])
    unit = files.put(name="nftables.service loads the PREP ruleset", src=StringIO(unit_dropin()),
                     dest=d["nftables_unit_dropin"], create_remote_dir=True, mode="0644")
    systemd.daemon_reload(name="systemd reads the nftables drop-in", _if=unit.did_change)
    moved = converge.nftables_fragments(FRAGMENTS)  # our ruleset includes them: checked first
    op = install_validated("nftables ruleset", {RULESET: ruleset(cfg, sshd_ports())},
                           "nft -c -f {candidate}", mode="0755")
    # Loaded when the file changed, when a fragment it included was moved away, or when our
    # table is not loaded at all (a `flush ruleset` by hand or by another unit).
    stale = moved or "table inet prep {" not in host.get_fact(NftRuleset)
    if op is not None or stale:
        when = {} if stale else {"_if": op.did_change}
        # Only our table is replaced (atomically, by the file itself); fail2ban restores
        # its active bans into the new banned4/banned6 on restart.
        server.shell(name="load the ruleset", commands=[f"nft -c -f {RULESET}",
                                                        f"nft -f {RULESET}"], **when)
        server.shell(name="fail2ban: re-add active bans to the new sets", commands=[
            "if systemctl -q is-active fail2ban; then systemctl restart fail2ban; fi"], **when)
    converge.nftables_tables()
    systemd.service(name="nftables.service loads it at boot", service=d["nftables_service"],
                    enabled=True)
