"""Access logs kept for the memoria (CONV-VI): logrotate daily, compressed, window + 30 days,
and the window's own days never deleted by rotation (see docs/web.md, "Logs")."""

from pyinfra.api import deploy
from pyinfra.operations import apt, files

from prep_iac import paths
from prep_iac.components import conffiles, distro
from prep_iac.components.common import config
from prep_iac.components.nginx import ACCESS_LOG
from prep_iac.components.waf import BLOCKED_LOG, VOLUME_LOG
from prep_iac.inventory.hostconfig import HostConfig

# docs/contracts.md: the site's log, the web-attack filter's log and the volume log of
# non-browser 429s (fail2ban reads the last).
PREP_LOGS = [ACCESS_LOG, BLOCKED_LOG, VOLUME_LOG]
ARCHIVE = "/var/log/prep-memoria"
KEEP_SCRIPT = "/usr/local/sbin/prep-logs-keep"
LOGROTATE_FILE = "/etc/logrotate.d/nginx"
AFTER_CLOSE_DAYS = 30


def keep_days(cfg: HostConfig) -> int:
    """Rotations kept: at close + 30 days the opening day's file must still be there (+2 margin)."""
    w = cfg.iec.window
    return (w.closes_at.date() - w.opens_at.date()).days + AFTER_CLOSE_DAYS + 2


def context(cfg: HostConfig) -> dict:
    w = cfg.iec.window
    return {
        "prep_logs": PREP_LOGS, "archive": ARCHIVE, "keep_script": KEEP_SCRIPT,
        "keep_days": keep_days(cfg), "opens": w.opens, "closes": w.closes,
        # dateyesterday: a file is named by the day its lines are from; the day after the
        # close still holds the close day's last minutes.
        "first_day": w.opens_at.strftime("%Y%m%d"),
        "last_day": w.closes_at.strftime("%Y%m%d"),
    }


@deploy("logs: the window's rotation")
def window():
    """The rotation rules and the script that keeps the window's days: they hold the window,
    so deploys/calendar.py writes them too (logrotate reads them at its next run)."""
    ctx = context(config())
    files.template(name="keep the window's logs", src=paths.template("logrotate", "prep-logs-keep.sh.j2"),
                   dest=KEEP_SCRIPT, user="root", group="root", mode="755", **ctx)
    conffiles.diverted(LOGROTATE_FILE)
    files.template(name="logrotate for nginx and the PREP logs",
                   src=paths.template("logrotate", "nginx.j2"), dest=LOGROTATE_FILE,
                   user="root", group="root", mode="644", **ctx)


@deploy("logs: rotation")
def rotation():
    apt.packages(name="logrotate", packages=distro.for_host()["logrotate_packages"],
                 update=True, cache_time=3600)
    files.directory(name="memoria log archive", path=ARCHIVE, user="root", group="adm",
                    mode="750")
    window()
