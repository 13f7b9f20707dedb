"""Helpers every component uses: the host's typed config, templates, validated config files."""

from pyinfra import host, logger
from pyinfra.operations import files, systemd
from pyinfra.operations.util import any_changed

from prep_iac import paths
from prep_iac.errors import PrepError
from prep_iac.inventory.hostconfig import HostConfig


def config() -> HostConfig:
    """The typed inventory view of the host being deployed (``host.data.prep``)."""
    cfg = host.data.get("prep")
    if not isinstance(cfg, HostConfig):
        raise PrepError(f"{host.name}: no prep-iac data in this inventory",
                        "use a prep-iac inventory: an inventories/*.py shim, or "
                        "prep-iac deploy ROLE -i FILE.yml")
    return cfg


def install_units(component: str, units: dict[str, str], running: list[str], **ctx) -> None:
    """A component's systemd units from its templates (unit name -> template file), one
    daemon-reload when any changed, and the units that must be enabled and running."""
    ops = [files.template(name=f"unit {unit}", src=paths.template(component, src),
                          dest=f"/etc/systemd/system/{unit}", user="root", group="root",
                          mode="644", **ctx) for unit, src in units.items()]
    systemd.daemon_reload(name=f"systemd reads the {component}'s units", _if=any_changed(*ops))
    for unit in running:
        systemd.service(name=f"{unit} enabled and running", service=unit, running=True,
                        enabled=True)


def has_role(role: str) -> bool:
    """Deploy files run on a whole inventory; each acts only on its own group's hosts."""
    cfg = host.data.get("prep")
    if isinstance(cfg, HostConfig) and cfg.role == role:
        return True
    logger.info(f"{host.name}: not a {role}, nothing to do")
    return False
