"""UPS monitoring (CONV-II.e) with NUT: the driver from the inventory, upsd on localhost,
upsmon notifying the journal as `prep-ups` (+ optional webhook or mail) and powering the
server off cleanly on low battery.

HA pair: each node monitors the UPS it hangs on (its own `ups` block), as the primary of
that UPS; a node with no `ups` block monitors nothing and says so. The lab uses dummy-ups
with a sequence file (/etc/nut/<ups>.seq) that tests edit to play "on battery" and "low
battery"."""

import secrets
from io import StringIO

from pyinfra import host, logger
from pyinfra.api import deploy
from pyinfra.facts.files import FileContents
from pyinfra.operations import apt, files, server, systemd
from pyinfra.operations.util import any_changed

from prep_iac.components import conffiles, distro
from prep_iac.components.common import config, render
from prep_iac.contract import ONHOST_LIB

UPSMON_USER = "upsmon-prep"
SECRET = "/etc/nut/prep-upsmon.secret"
NOTIFY = f"{ONHOST_LIB}/prep-ups-notify"
EVENTS = ["ONLINE", "ONBATT", "LOWBATT", "FSD", "COMMOK", "COMMBAD", "SHUTDOWN", "REPLBATT",
          "NOCOMM"]


def driver_port(ups) -> str:
    """dummy-ups reads a file in /etc/nut; every real driver takes the port as given."""
    if ups.driver == "dummy-ups" and ups.port == "auto":
        return f"{ups.name}.seq"
    return ups.port


def _put(name: str, text: str, dest: str, mode: str, group: str = "nut"):
    return files.put(name=name, src=StringIO(text), dest=dest, mode=mode, user="root",
                     group=group)


@deploy("ups.nut")
def nut():
    cfg = config()
    ups = getattr(cfg.host, "ups", None)
    if ups is None:
        logger.info(f"{host.name}: no `ups` in the inventory: UPS monitoring not configured")
        return
    d = distro.for_host()
    apt.update(name="package lists (at most hourly)", cache_time=3600)
    apt.packages(name="NUT", packages=d["nut_packages"])

    # upsmon's password, made once on the host and kept there (upsd listens on localhost).
    password = "".join(host.get_fact(FileContents, path=SECRET) or []).strip()
    if not password:
        password = secrets.token_hex(16)
        _put("upsmon password", password + "\n", SECRET, "0640")

    nut_dir = d["nut_dir"]
    port = driver_port(ups)
    for name in ("nut.conf", "ups.conf", "upsd.conf", "upsd.users", "upsmon.conf"):
        conffiles.diverted(f"{nut_dir}/{name}")
    changed = [
        _put("nut.conf", render("nut", "nut.conf.j2", mode="standalone"),
             f"{nut_dir}/nut.conf", "0640"),
        _put("ups.conf", render("nut", "ups.conf.j2", ups=ups, port=port),
             f"{nut_dir}/ups.conf", "0640"),
        _put("upsd.conf", render("nut", "upsd.conf.j2"), f"{nut_dir}/upsd.conf", "0640"),
        _put("upsd.users", render("nut", "upsd.users.j2", user=UPSMON_USER, password=password),
             f"{nut_dir}/upsd.users", "0640"),
        _put("upsmon.conf", render("nut", "upsmon.conf.j2", ups=ups, user=UPSMON_USER,
                                   password=password, notify_cmd=NOTIFY, events=EVENTS,
                                   shutdown_cmd="/sbin/shutdown -h +0"),
             f"{nut_dir}/upsmon.conf", "0640"),
    ]
    seq = f"{nut_dir}/{port}"
    if ups.driver == "dummy-ups" and not host.get_fact(FileContents, path=seq):
        # Created once: tests edit it (OL, OB, OB LB); a deploy never resets it.
        _put("dummy UPS state", render("nut", "dummy.seq.j2"), seq, "0664")
    # Run by upsmon at each event: a change needs no restart.
    _put("notify script", render("nut", "prep-ups-notify.j2", ups_name=ups.name,
                                 webhook=ups.notify_webhook or "", mail=ups.notify_mail or ""),
         NOTIFY, "0755", group="root")

    driver = d["nut_driver_unit"].format(ups=ups.name)
    units = [driver, d["nut_server_service"], d["nut_monitor_service"]]
    server.shell(name="restart NUT (driver, upsd, upsmon)", _if=any_changed(*changed), commands=[
        f"systemctl restart {d['nut_enumerator']}", "systemctl restart " + " ".join(units)])
    for unit in units[1:]:
        systemd.service(name=f"{unit} running", service=unit, running=True, enabled=True)
