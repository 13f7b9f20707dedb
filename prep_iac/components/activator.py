"""The activator on a difusor (CONV-I.3, I.9): verifies each signed cut the IEC uploads and
switches `current` to it atomically (prep_iac/onhost/activator.py does the work; the
onhost component installs it).

A path unit starts it when a cut's marker lands in the jail's incoming/; a timer sweeps
abandoned uploads every period. Its settings come from the inventory's `iec` block; the
jail's byte budget (issue 17) is two of the inventory's largest cuts (contract.jail_budget_bytes).
"""

from io import StringIO

from pyinfra.api import deploy
from pyinfra.operations import files

from prep_iac import contract
from prep_iac.components.common import config, install_units
from prep_iac.onhost.activator import ActivatorConfig
from prep_iac.onhost.common import settings_json
from prep_iac.onhost.publisher.signing import allowed_signers

UNITS = ("prep-activator.service", "prep-activator.path", "prep-activator-sweep.service",
         "prep-activator-sweep.timer")


def settings(iec) -> ActivatorConfig:
    """What the activator reads from /etc/prep-activator/config.json."""
    max_bytes = iec.max_cut_mb * 1024 * 1024
    return ActivatorConfig(keep=iec.keep_cuts, max_bytes=max_bytes,
                           max_files=iec.max_cut_files, period_s=iec.period_s,
                           stale_s=max(contract.stale_after_s(iec.period_s), 300),
                           jail_budget_bytes=contract.jail_budget_bytes(max_bytes),
                           process=iec.process,
                           prep_opens=iec.calendar.prep_opens_at.isoformat())


def unit_context(iec) -> dict:
    """What the activator's unit templates name: its paths, from the contract."""
    return {"config": contract.ACTIVATOR_CONFIG, "prep_root": contract.PREP_ROOT,
            "jail": contract.JAIL_ROOT, "state_dir": contract.ACTIVATOR_STATE_DIR,
            "watchdog_state_dir": contract.WATCHDOG_STATE_DIR,
            "incoming": f"{contract.JAIL_ROOT}/{contract.INCOMING}",
            "marker_suffix": contract.MARKER_SUFFIX, "period_s": iec.period_s,
            "program": f"{contract.ONHOST_LIB}/prep_iac/onhost/activator.py"}


@deploy("activator: settings")
def configured():
    """The settings file, read by each run (no restart). It holds the calendar's opening,
    so deploys/calendar.py writes it too."""
    files.directory(name=f"directory {contract.ACTIVATOR_ETC}", path=contract.ACTIVATOR_ETC,
                    user="root", group="root", mode="755")
    files.put(name="activator settings", src=StringIO(settings_json(settings(config().iec))),
              dest=contract.ACTIVATOR_CONFIG, user="root", group="root", mode="644")


@deploy("activator: verified, atomic cut activation")
def installed():
    iec = config().iec
    for path, mode in ((contract.PREP_ROOT, "755"), (contract.CUTS_DIR, "755"),
                       (contract.ACTIVATOR_STATE_DIR, "700")):
        files.directory(name=f"directory {path}", path=path, user="root", group="root",
                        mode=mode)
    configured()
    files.put(name="the IEC's signing keys (allowed_signers)",
              src=StringIO(allowed_signers(list(iec.signers))),
              dest=contract.ACTIVATOR_SIGNERS, user="root", group="root", mode="644")

    install_units("activator", {u: f"{u}.j2" for u in UNITS},
                  ["prep-activator.path", "prep-activator-sweep.timer"], **unit_context(iec))
