"""Intrusion detection and prevention (CONV-II.d.2): fail2ban reading sshd from the journal
and nginx's blocked and error logs, banning into the firewall's nftables sets, with a
recidive jail on top. The configuration is checked (`fail2ban-client -t`) before reload."""

from pyinfra.api import deploy
from pyinfra.operations import apt, files, systemd

from prep_iac.components import distro
from prep_iac.components.admins import install_validated, render
from prep_iac.components.common import config
from prep_iac.components.firewall import sshd_ports
from prep_iac.components.waf import BLOCKED_LOG

ERROR_LOG = "/var/log/nginx/error.log"
ACTION = "/etc/fail2ban/action.d/prep-nftables.conf"
FILTER = "/etc/fail2ban/filter.d/prep-nginx-blocked.conf"
JAILS = "/etc/fail2ban/jail.d/prep.local"
SERVER = "/etc/fail2ban/fail2ban.d/prep.local"


def jails(cfg, ssh_service: str, ports: list[int]) -> str:
    web = cfg.role == "difusor"
    return render("fail2ban", "prep.local.j2", web=web, ssh_service=ssh_service,
                  ssh_ports=",".join(map(str, ports)), blocked_log=BLOCKED_LOG,
                  error_log=ERROR_LOG, iec_sources=list(cfg.iec.sources) if web else [])


def contents(cfg, ssh_service: str, ports: list[int]) -> dict[str, str]:
    return {SERVER: render("fail2ban", "fail2ban-prep.local.j2"),
            ACTION: render("fail2ban", "prep-nftables.conf.j2"),
            FILTER: render("fail2ban", "prep-nginx-blocked.conf.j2"),
            JAILS: jails(cfg, ssh_service, ports)}


@deploy("ids.fail2ban")
def fail2ban():
    cfg = config()
    d = distro.for_host()
    apt.update(name="package lists (at most hourly)", cache_time=3600)
    apt.packages(name="fail2ban", packages=d["fail2ban_packages"])
    if cfg.role == "difusor":
        # fail2ban refuses a jail whose log file does not exist yet.
        for path in (BLOCKED_LOG, ERROR_LOG):
            files.file(name=f"{path} exists", path=path, present=True)
    op = install_validated("fail2ban jails", contents(cfg, d["ssh_service"], sshd_ports()),
                           "fail2ban-client -t")
    systemd.service(name="fail2ban running", service="fail2ban", running=True, enabled=True)
    if op is not None:
        # A reload keeps the active bans (and re-adds them to the sets).
        systemd.service(name="reload fail2ban", service="fail2ban", reloaded=True,
                        _if=op.did_change)
