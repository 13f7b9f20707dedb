"""The watchdog (CONV-I.1, CONV-III.2): window, "updates interrupted" notice, estado.json.

prep-watchdog.service keeps prep_iac/onhost/watchdog.py (installed by the onhost component)
resident, a pass every few seconds; the activator makes one itself right after each cut.
See that program for what it decides.
"""

from io import StringIO

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.facts.files import File
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


def restart_if_changed(*ops) -> None:
    """A changed rule, page or program takes effect now, not at the next pass."""
    systemd.service(name="restart the watchdog for its new config or program",
                    service=contract.WATCHDOG_UNIT, running=True, restarted=True,
                    _if=any_changed(*ops))


# Releases before 2026-12 ran the watchdog from a timer, a fresh unit every few seconds.
OLD_TIMER = "prep-watchdog.timer"


@deploy("watchdog: resident service")
def resident(program=()):
    """program: the onhost component's operations (a new watchdog restarts it)."""
    period = config().iec.period_s
    files.directory(name="watchdog state (flags nginx tests)", path=contract.WATCHDOG_STATE_DIR,
                    user="root", group="root", mode="755")
    settings = configured()
    retired = []
    if host.get_fact(File, path=f"{UNIT_DIR}/{OLD_TIMER}"):
        systemd.service(name=f"{OLD_TIMER} stopped and disabled", service=OLD_TIMER,
                        running=False, enabled=False)
        retired.append(files.file(name=f"{OLD_TIMER} removed", path=f"{UNIT_DIR}/{OLD_TIMER}",
                                  present=False))
    unit = files.template(name=contract.WATCHDOG_UNIT,
                          src=paths.template("watchdog", "prep-watchdog.service.j2"),
                          dest=f"{UNIT_DIR}/{contract.WATCHDOG_UNIT}", user="root", group="root",
                          mode="644", interval_s=contract.watchdog_interval_s(period),
                          period_s=period, **SERVICE_CONTEXT)
    systemd.daemon_reload(name="systemd reads the watchdog unit", _if=any_changed(unit, *retired))
    systemd.service(name="prep-watchdog running and enabled", service=contract.WATCHDOG_UNIT,
                    running=True, enabled=True)
    restart_if_changed(unit, *settings, *program)


@deploy("watchdog: the calendar")
def recalendared():
    """deploys/calendar.py: the new window, in effect at once."""
    restart_if_changed(*configured())
