"""The watchdog (CONV-I.1, CONV-III.2): window, "updates interrupted" notice, estado.json.

A systemd timer runs prep_iac/onhost/watchdog.py (installed by the onhost component) every
few seconds; the activator also starts it right after each cut. See that program for what
it decides.
"""

from io import StringIO

from pyinfra.api import deploy
from pyinfra.operations import files, systemd
from pyinfra.operations.util import any_changed

from prep_iac import contract, paths
from prep_iac.components.common import config
from prep_iac.components.nginx import context
from prep_iac.inventory.hostconfig import HostConfig
from prep_iac.onhost.common import settings_json
from prep_iac.onhost.watchdog import WatchdogConfig

UNIT_DIR = "/etc/systemd/system"
SERVICE_CONTEXT = {"prep_root": contract.PREP_ROOT, "state_dir": contract.WATCHDOG_STATE_DIR}


def watchdog_config(cfg: HostConfig) -> WatchdogConfig:
    iec = cfg.iec
    return WatchdogConfig(opens=iec.window.opens_at.isoformat(),
                          closes=iec.window.closes_at.isoformat(),
                          official_url=iec.official_url, period_s=iec.period_s,
                          timezone=iec.window.timezone)


@deploy("watchdog: settings and notice page")
def configured():
    """The rules and the notice page, read by each run. They hold the publication window,
    so deploys/calendar.py writes them too; returns the two operations."""
    cfg = config()
    settings = watchdog_config(cfg)
    files.directory(name="watchdog config dir", path=contract.WATCHDOG_ETC, user="root",
                    group="root", mode="755")
    conf = files.put(name="watchdog config", src=StringIO(settings_json(settings)),
                     dest=contract.WATCHDOG_CONFIG, user="root", group="root", mode="644")
    notice = files.template(name="notice page template",
                            src=paths.template("watchdog", "aviso.html.j2"),
                            dest=settings.notice_template, user="root", group="root",
                            mode="644", **context(cfg))
    return conf, notice


def run_now_if_changed(*ops) -> None:
    """A changed rule or page takes effect now, not at the next tick. (A new program arrives
    with the onhost component; the timer runs it within seconds.)"""
    systemd.service(name="run the watchdog once with the new config",
                    service="prep-watchdog.service", running=True, _if=any_changed(*ops))


@deploy("watchdog: timer")
def timer():
    period = config().iec.period_s
    files.directory(name="watchdog state (flags nginx tests)", path=contract.WATCHDOG_STATE_DIR,
                    user="root", group="root", mode="755")
    settings = configured()
    service = files.template(name="prep-watchdog.service",
                             src=paths.template("watchdog", "prep-watchdog.service.j2"),
                             dest=f"{UNIT_DIR}/prep-watchdog.service", user="root",
                             group="root", mode="644", **SERVICE_CONTEXT)
    unit_timer = files.template(name="prep-watchdog.timer",
                                src=paths.template("watchdog", "prep-watchdog.timer.j2"),
                                dest=f"{UNIT_DIR}/prep-watchdog.timer", user="root",
                                group="root", mode="644",
                                interval_s=contract.watchdog_interval_s(period), period_s=period)
    systemd.daemon_reload(name="systemd reads the watchdog units",
                          _if=any_changed(service, unit_timer))
    systemd.service(name="prep-watchdog.timer running and enabled", service="prep-watchdog.timer",
                    running=True, enabled=True)
    run_now_if_changed(*settings)
    systemd.service(name="restart the timer for a new interval", service="prep-watchdog.timer",
                    restarted=True, _if=any_changed(unit_timer))


@deploy("watchdog: the calendar")
def recalendared():
    """deploys/calendar.py: the new window, in effect at once."""
    run_now_if_changed(*configured())
