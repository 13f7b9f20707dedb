"""The activator on a difusor (CONV-I.3, I.9): verifies each signed cut the IEC uploads and
switches `current` to it atomically (prep_iac/activator/prep_activator.py does the work).

A path unit starts it when a cut's `.listo` marker lands in the jail's incoming/; a timer
sweeps abandoned uploads every period. Its settings come from the inventory's `iec` block.
"""

import json
from io import StringIO

from pyinfra.api import deploy
from pyinfra.operations import apt, files

from prep_iac.activator import SCRIPT
from prep_iac.components.common import config, install_units
from prep_iac.components.sftp_jail import JAIL
from prep_iac.publish.signing import IDENTITY, NAMESPACE, allowed_signers

PROGRAM = "/usr/local/lib/prep-iac/prep-activator"
LINK = "/usr/local/sbin/prep-activator"
ETC = "/etc/prep-activator"
STATE_DIR = "/var/lib/prep-activator"
PREP_ROOT = "/srv/prep"
UNITS = ("prep-activator.service", "prep-activator.path", "prep-activator-sweep.service",
         "prep-activator-sweep.timer")


def settings(iec) -> dict:
    """/etc/prep-activator/config.json: what the activator reads (keys as in its DEFAULTS)."""
    return {"jail": JAIL, "root": PREP_ROOT, "state_dir": STATE_DIR,
            "allowed_signers": f"{ETC}/allowed_signers", "namespace": NAMESPACE,
            "identity": IDENTITY, "keep": iec.keep_cuts,
            "max_bytes": iec.max_cut_mb * 1024 * 1024, "max_files": iec.max_cut_files,
            "period_s": iec.period_s, "reserve_bytes": 64 * 1024 * 1024,
            "stale_s": max(3 * iec.period_s, 300), "watchdog_unit": "prep-watchdog.service"}


@deploy("activator: verified, atomic cut activation")
def installed():
    iec = config().iec
    apt.packages(name="python3 and ssh-keygen", packages=["python3", "openssh-client"],
                 update=True, cache_time=3600)

    for path, mode in ((PREP_ROOT, "755"), (f"{PREP_ROOT}/cortes", "755"), (ETC, "755"),
                       (STATE_DIR, "700"), ("/usr/local/lib/prep-iac", "755")):
        files.directory(name=f"directory {path}", path=path, user="root", group="root",
                        mode=mode)
    files.put(name="the activator program", src=str(SCRIPT), dest=PROGRAM, user="root",
              group="root", mode="755")
    files.link(name="prep-activator on root's PATH", path=LINK, target=PROGRAM)
    files.put(name="activator settings",
              src=StringIO(json.dumps(settings(iec), indent=1, sort_keys=True) + "\n"),
              dest=f"{ETC}/config.json", user="root", group="root", mode="644")
    files.put(name="the IEC's signing keys (allowed_signers)",
              src=StringIO(allowed_signers(list(iec.signers))),
              dest=f"{ETC}/allowed_signers", user="root", group="root", mode="644")

    install_units("activator", {u: u for u in UNITS},
                  ["prep-activator.path", "prep-activator-sweep.timer"],
                  jail=JAIL, period_s=iec.period_s)
