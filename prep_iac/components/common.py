"""Helpers every component uses: the host's typed config, templates, validated config files."""

from pyinfra import host, logger

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


def has_role(role: str) -> bool:
    """Deploy files run on a whole inventory; each acts only on its own group's hosts."""
    cfg = host.data.get("prep")
    if isinstance(cfg, HostConfig) and cfg.role == role:
        return True
    logger.info(f"{host.name}: not a {role}, nothing to do")
    return False
