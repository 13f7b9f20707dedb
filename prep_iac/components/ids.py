"""Intrusion detection and prevention (CONV-II.d.2): fail2ban banning into the firewall's
nftables sets, only for what no other site's page can make a visitor's browser do
(docs/security.md, "Who gets banned"): SSH failures from the journal, and request volume
from clients that are not browsers (the web-attack filter's volume log). A recidive jail
reads fail2ban's own bans from the journal and escalates to a day. Admin networks (and, on
difusores, the IEC's publishers) are never banned. The configuration is checked
(`fail2ban-client -t`) before reload."""

from pyinfra.api import deploy
from pyinfra.operations import apt, files, server, systemd

from prep_iac.components import distro
from prep_iac.components.common import config, install_validated, render
from prep_iac.components.firewall import sshd_ports
from prep_iac.components.waf import VOLUME_LOG
from prep_iac.inventory.roles import DIFUSOR

ACTION = "/etc/fail2ban/action.d/prep-nftables.conf"
VOLUME_FILTER = "/etc/fail2ban/filter.d/prep-web-volume.conf"
RECIDIVE_FILTER = "/etc/fail2ban/filter.d/prep-recidive.conf"
JAILS = "/etc/fail2ban/jail.d/prep.local"
SERVER = "/etc/fail2ban/fail2ban.d/prep.local"
# Written by earlier versions (the probe-URI jail, removed: a page can make browsers send
# probe URIs, docs/security.md); removed from hosts so no one re-enables it by accident.
STALE = ["/etc/fail2ban/filter.d/prep-nginx-blocked.conf"]
LOOPBACK = ["127.0.0.0/8", "::1"]
# How long the deploy waits for fail2ban's socket after starting it (it reads every jail's
# backlog first: the journal for sshd and recidive).
ANSWER_WAIT_S = 60


def ignored(cfg) -> list[str]:
    """Addresses fail2ban never bans: loopback, the admin networks (a ban would lock the
    admins out) and, on difusores, the IEC's publishers (a ban would stop the cuts)."""
    out = LOOPBACK + list(cfg.admins.networks)
    if cfg.role == DIFUSOR:
        out += list(cfg.iec.sources)
    return list(dict.fromkeys(out))


def jails(cfg, ssh_service: str, ports: list[int]) -> str:
    return render("fail2ban", "prep.local.j2", web=cfg.role == DIFUSOR,
                  ssh_service=ssh_service, ssh_ports=",".join(map(str, ports)),
                  volume_log=VOLUME_LOG, ignoreip=ignored(cfg))


def contents(cfg, ssh_service: str, ports: list[int]) -> dict[str, str]:
    return {SERVER: render("fail2ban", "fail2ban-prep.local.j2"),
            ACTION: render("fail2ban", "prep-nftables.conf.j2"),
            VOLUME_FILTER: render("fail2ban", "prep-web-volume.conf.j2"),
            RECIDIVE_FILTER: render("fail2ban", "prep-recidive.conf.j2"),
            JAILS: jails(cfg, ssh_service, ports)}


def wait_answer_command(seconds: int = ANSWER_WAIT_S) -> str:
    """Shell: wait (bounded) until fail2ban's socket answers; fail with a message if not."""
    return (f"for i in $(seq 1 {seconds}); do fail2ban-client ping >/dev/null 2>&1 && exit 0; "
            f"sleep 1; done; echo 'prep-iac: fail2ban did not answer within {seconds} s' >&2; "
            "systemctl --no-pager status fail2ban >&2; exit 1")


@deploy("ids.fail2ban")
def fail2ban():
    cfg = config()
    d = distro.for_host()
    apt.update(name="package lists (at most hourly)", cache_time=3600)
    apt.packages(name="fail2ban", packages=d["fail2ban_packages"])
    if cfg.role == DIFUSOR:
        # fail2ban refuses a jail whose log file does not exist yet.
        files.file(name=f"{VOLUME_LOG} exists", path=VOLUME_LOG, present=True)
    for path in STALE:
        files.file(name=f"{path} removed", path=path, present=False)
    op = install_validated("fail2ban jails", contents(cfg, d["ssh_service"], sshd_ports()),
                           "fail2ban-client -t")
    start = systemd.service(name="fail2ban running", service="fail2ban", running=True,
                            enabled=True)
    if op is not None:
        # A service just started read the new files already; one that was running reloads
        # (keeping its active bans), but only once its socket answers: right after a
        # start, `reload` fails ("Job for fail2ban.service failed").
        server.shell(name="fail2ban answers", commands=[wait_answer_command()],
                     _if=op.did_change)
        systemd.service(name="reload fail2ban", service="fail2ban", reloaded=True,
                        _if=[op.did_change, lambda: not start.did_change()])
