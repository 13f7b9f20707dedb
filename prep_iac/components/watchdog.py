"""The watchdog (CONV-I.1, CONV-III.2): window, "updates interrupted" notice, estado.json.

A systemd timer runs templates/watchdog/prep-watchdog.py every few seconds; the activator
also starts it right after each cut. See that program for what it decides.
"""

import json
from io import StringIO

from pyinfra.api import deploy
from pyinfra.operations import files, systemd
from pyinfra.operations.util import any_changed

from prep_iac import paths
from prep_iac.components.common import config
from prep_iac.components.nginx import PREP_ROOT, STATE_DIR, context
from prep_iac.inventory.hostconfig import HostConfig

PROGRAM = "/usr/local/sbin/prep-watchdog"
CONF_DIR = "/etc/prep-watchdog"
UNIT_DIR = "/etc/systemd/system"


def interval_s(period_s: int) -> int:
    """Check often enough that the notice is late by a small part of a period at most."""
    return max(2, min(10, period_s // 5))


def watchdog_config(cfg: HostConfig) -> dict:
    iec = cfg.iec
    return {
        "prep_root": PREP_ROOT,
        "state_dir": STATE_DIR,
        "periodo_s": iec.period_s,
        "opens": iec.window.opens_at.isoformat(),
        "closes": iec.window.closes_at.isoformat(),
        "timezone": iec.window.timezone,
        "official_url": iec.official_url,
        "notice_template": f"{CONF_DIR}/aviso.html",
    }


@deploy("watchdog: timer")
def timer():
    cfg = config()
    period = cfg.iec.period_s
    files.directory(name="watchdog state (flags nginx tests)", path=STATE_DIR,
                    user="root", group="root", mode="755")
    files.directory(name="watchdog config dir", path=CONF_DIR, user="root", group="root",
                    mode="755")
    program = files.put(name="prep-watchdog program", src=paths.template("watchdog", "prep-watchdog.py"),
                        dest=PROGRAM, user="root", group="root", mode="755")
    conf = files.put(name="watchdog config",
                     src=StringIO(json.dumps(watchdog_config(cfg), indent=2) + "\n"),
                     dest=f"{CONF_DIR}/config.json", user="root", group="root", mode="644")
    notice = files.template(name="notice page template", src=paths.template("watchdog", "aviso.html.j2"),
                            dest=f"{CONF_DIR}/aviso.html", user="root", group="root", mode="644",
                            **context(cfg))
    service = files.put(name="prep-watchdog.service", src=paths.template("watchdog", "prep-watchdog.service"),
                        dest=f"{UNIT_DIR}/prep-watchdog.service", user="root", group="root",
                        mode="644")
    unit_timer = files.template(name="prep-watchdog.timer", src=paths.template("watchdog", "prep-watchdog.timer.j2"),
                                dest=f"{UNIT_DIR}/prep-watchdog.timer", user="root", group="root",
                                mode="644", interval_s=interval_s(period), period_s=period)
    systemd.daemon_reload(name="systemd reads the watchdog units", _if=any_changed(service, unit_timer))
    systemd.service(name="prep-watchdog.timer running and enabled", service="prep-watchdog.timer",
                    running=True, enabled=True)
    # A changed rule or page takes effect now, not at the next tick.
    systemd.service(name="run the watchdog once with the new config", service="prep-watchdog.service",
                    running=True, _if=any_changed(program, conf, notice))
    systemd.service(name="restart the timer for a new interval", service="prep-watchdog.timer",
                    restarted=True, _if=any_changed(unit_timer))
