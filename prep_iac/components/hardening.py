"""OS hardening (CONV-II.c.3): network and kernel sysctls, security updates, time sync, a
persistent journal, auditd, no needless servers. What a container forbids (kernel sysctls,
auditd, the clock) is skipped with its reason, never silently."""

from io import StringIO

from pyinfra import host, logger
from pyinfra.api import deploy
from pyinfra.operations import apt, files, server, systemd

from prep_iac.components import conffiles, converge, distro
from prep_iac.components.common import config, install_validated, render
from prep_iac.facts.container import Container

NET_SYSCTL = "60-prep-net.conf"
KERNEL_SYSCTL = "60-prep-kernel.conf"


def skipped(item: str, forbids: dict) -> bool:
    """True (and logged) when the container fact forbids `item` on this host."""
    reason = forbids.get(item)
    if reason:
        logger.warning(f"{host.name}: {item} skipped: {reason}")
    return bool(reason)


def _sysctl(d: dict, name: str) -> dict[str, str]:
    path = f"{d['sysctl_dir']}/{name}"
    text = render("sysctl", f"{name}.j2")
    # Applying the candidate is its test: an unknown or read-only key fails the deploy with
    # sysctl's message and the file stays out of sysctl.d (systemd-sysctl reads it at boot).
    install_validated(f"sysctl {name}", {path: text}, "sysctl -q -p {candidate} >/dev/null")
    return {path: text}


@deploy("hardening.system")
def system():
    d = distro.for_host()
    forbids = host.get_fact(Container)["forbids"]
    apt.update(name="package lists (at most hourly)", cache_time=3600)
    apt.packages(name="hardening tools", packages=["procps"] + d["upgrades_packages"])

    ours = _sysctl(d, NET_SYSCTL)
    if not skipped("kernel_sysctl", forbids):
        ours.update(_sysctl(d, KERNEL_SYSCTL))
    converge.sysctl(d["sysctl_dir"], ours, d["sysctl_package_files"])  # none may undo ours

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
    lynis_items()


# Lynis's suggestions we follow (docs/security.md "Lynis", each with its reason). Packages
# go in without their Recommends (apt-listchanges would otherwise pull in a mail server, a
# listening daemon this host must not have). Not libpam-tmpdir (it breaks pyinfra's uploads
# under sudo) nor needrestart (it depends on binutils: an assembler on the host).
LYNIS_PACKAGES = ["libpam-pwquality", "apt-listchanges", "debsums"]
TMOUT_S = 900
LOGIN_DEFS = {"PASS_MIN_DAYS": "1", "SHA_CRYPT_MIN_ROUNDS": "65536",
              "SHA_CRYPT_MAX_ROUNDS": "262144"}
LYNIS_FILES = {  # destination -> (template, context)
    "/etc/systemd/coredump.conf.d/60-prep.conf": ("coredump.conf.j2", {}),
    "/etc/security/limits.d/60-prep-core.conf": ("limits-core.conf.j2", {}),
    "/etc/profile.d/60-prep.sh": ("profile.sh.j2", {"tmout_s": TMOUT_S}),
    "/etc/modprobe.d/60-prep-blacklist.conf": ("modprobe.conf.j2", {}),
}


def lynis_items():
    apt.packages(name="Lynis: PAM password quality, apt-listchanges, debsums",
                 packages=LYNIS_PACKAGES, extra_install_args="--no-install-recommends")
    for dest, (template, context) in LYNIS_FILES.items():
        files.put(name=dest, src=_text(render("hardening", template, **context)), dest=dest,
                  create_remote_dir=True, user="root", group="root", mode="0644")
    banner = render("hardening", "issue.j2", role=config().role)
    for dest in ("/etc/issue", "/etc/issue.net", "/etc/login.defs"):
        conffiles.diverted(dest)
    for dest in ("/etc/issue", "/etc/issue.net"):
        files.put(name=f"legal banner {dest}", src=_text(banner), dest=dest, user="root",
                  group="root", mode="0644")
    for key, value in LOGIN_DEFS.items():
        files.line(name=f"login.defs {key}", path="/etc/login.defs", line=rf"^{key}\s",
                   replace=f"{key}\t{value}")
    # A stray Ctrl-Alt-Del on a console or a KVM must not reboot the host on election night
    # (systemctl reboot still works).
    files.link(name="ctrl-alt-del.target masked", path="/etc/systemd/system/ctrl-alt-del.target",
               target="/dev/null")


def _text(text: str) -> StringIO:
    return StringIO(text)
