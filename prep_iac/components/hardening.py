"""OS hardening (CONV-II.c.3): network and kernel sysctls, security updates, time sync, a
persistent journal, auditd, no needless servers. What a container forbids (kernel sysctls,
auditd, the clock) is skipped with its reason, never silently."""

from io import StringIO

from pyinfra import host, logger
from pyinfra.api import deploy
from pyinfra.operations import apt, files, server, systemd

from prep_iac.components import distro
from prep_iac.components.admins import install_validated, render
from prep_iac.facts.container import Container

NET_SYSCTL = "60-prep-net.conf"
KERNEL_SYSCTL = "60-prep-kernel.conf"


def skipped(item: str, forbids: dict) -> bool:
    """True (and logged) when the container fact forbids `item` on this host."""
    reason = forbids.get(item)
    if reason:
        logger.warning(f"{host.name}: {item} skipped: {reason}")
    return bool(reason)


def _sysctl(d: dict, name: str) -> None:
    path = f"{d['sysctl_dir']}/{name}"
    # Applying the candidate is its test: an unknown or read-only key fails the deploy with
    # sysctl's message and the file stays out of sysctl.d (systemd-sysctl reads it at boot).
    install_validated(f"sysctl {name}", {path: render("sysctl", f"{name}.j2")},
                      "sysctl -q -p {candidate} >/dev/null")


@deploy("hardening.system")
def system():
    d = distro.for_host()
    forbids = host.get_fact(Container)["forbids"]
    apt.update(name="package lists (at most hourly)", cache_time=3600)
    apt.packages(name="hardening tools", packages=["procps"] + d["upgrades_packages"])

    _sysctl(d, NET_SYSCTL)
    if not skipped("kernel_sysctl", forbids):
        _sysctl(d, KERNEL_SYSCTL)

    # Security updates every day, no automatic reboot.
    files.put(name="unattended-upgrades: security origins only",
              src=_text(render("hardening", "52prep-unattended-upgrades.j2",
                               origins=d["unattended_origins"])),
              dest="/etc/apt/apt.conf.d/52prep-unattended-upgrades", mode="0644")
    files.put(name="unattended-upgrades: daily", src=_text(render("hardening",
              "20auto-upgrades.j2")), dest="/etc/apt/apt.conf.d/20auto-upgrades", mode="0644")
    systemd.service(name="apt timers", service="apt-daily-upgrade.timer", running=True,
                    enabled=True)

    # A persistent journal: logs of the night survive a reboot.
    files.directory(name="/var/log/journal", path="/var/log/journal", mode="2755",
                    group="systemd-journal")
    journald = files.put(name="journald: persistent", src=_text(render("hardening",
                         "journald.conf.j2")), dest=f"{d['journald_dropin_dir']}/60-prep.conf",
                         mode="0644")
    systemd.service(name="restart journald", service="systemd-journald", restarted=True,
                    _if=journald.did_change)

    if not skipped("timesync", forbids):
        apt.packages(name="time sync", packages=[d["timesync_package"]])
        systemd.service(name="time sync running", service=d["timesync_service"],
                        running=True, enabled=True)

    if not skipped("auditd", forbids):
        apt.packages(name="auditd", packages=d["audit_packages"])
        rules = files.put(name="audit rules", src=_text(render("hardening", "audit.rules.j2")),
                          dest="/etc/audit/rules.d/60-prep.rules", mode="0640")
        server.shell(name="load audit rules", commands=["augenrules --load"],
                     _if=rules.did_change)
        systemd.service(name="auditd running", service="auditd", running=True, enabled=True)

    apt.packages(name="remove needless servers", packages=d["unwanted_packages"],
                 present=False)


def _text(text: str) -> StringIO:
    return StringIO(text)
