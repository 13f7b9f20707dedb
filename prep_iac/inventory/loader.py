"""Load an inventory file: read the YAML, resolve paths, validate, check referenced files."""

import os
from pathlib import Path

from pydantic import ValidationError

from prep_iac.errors import PrepError
from prep_iac.inventory.logos import logo_problems
from prep_iac.inventory.messages import Problem, duplicate_problems, problems_from
from prep_iac.inventory.roles import GROUP_ROLES
from prep_iac.inventory.schema import Inventory
from prep_iac.inventory.types import is_url
from prep_iac.inventory.yamlfile import read_yaml

# Host fields that name files on the machine running prep-iac (relative to the inventory).
_PATH_FIELDS = ("ssh_key", "sftp_identity", "signing_key")


class InventoryError(PrepError):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
        super().__init__(f"the inventory is not valid ({count}):\n" +
                         "\n".join(f"  {p}" for p in problems),
                         "correct each line above, then run: prep-iac inventory check -i FILE")


def load_inventory(path: str | os.PathLike) -> Inventory:
    """The validated inventory, or InventoryError listing every problem found."""
    path = Path(path)
    doc = read_yaml(path)
    problems = duplicate_problems(doc)
    if not isinstance(doc.data, dict):
        raise InventoryError(problems + [Problem(str(path), 1, "", "the file must be a mapping "
                                                 "with 'iec', 'admins', 'difusores', 'publishers'")])
    data = _resolve_paths(doc.data, path.parent)
    data = _resolve_logo(data, path.parent)
    try:
        inventory = Inventory.model_validate(data)
    except ValidationError as exc:
        raise InventoryError(problems + problems_from(exc, doc)) from None
    if problems:
        raise InventoryError(problems)
    from prep_iac.inventory.tlsfiles import tls_problems  # needs cryptography: load only here

    problems = tls_problems(inventory, doc) + logo_problems(inventory, doc)
    if problems:
        raise InventoryError(problems)
    return inventory


def resolve_path(value: str, base: Path) -> str:
    expanded = Path(os.path.expanduser(value))
    return str(expanded if expanded.is_absolute() else (base / expanded).resolve())


def _resolve_paths(data: dict, base: Path) -> dict:
    data = dict(data)
    for group in GROUP_ROLES:
        hosts = data.get(group)
        if not isinstance(hosts, dict):
            continue
        data[group] = {name: _resolve_host(host, base) for name, host in hosts.items()}
    portal = data.get("portal_logs")
    if isinstance(portal, dict):
        data["portal_logs"] = {k: resolve_path(v, base) if k in ("folder", "ssh_key")
                               and isinstance(v, str) else v for k, v in portal.items()}
    return data


def _resolve_logo(data: dict, base: Path) -> dict:
    part = data.get("participation")
    if isinstance(part, dict) and isinstance(part.get("logo"), str):
        data = {**data, "participation": {**part, "logo": resolve_path(part["logo"], base)}}
    return data


def _resolve_host(host, base: Path):
    if not isinstance(host, dict):
        return host
    host = dict(host)
    for key in _PATH_FIELDS:
        if isinstance(host.get(key), str):
            host[key] = resolve_path(host[key], base)
    logo = host.get("logo")
    if isinstance(logo, str) and logo and not is_url(logo):
        host["logo"] = resolve_path(logo, base)
    power = host.get("emergency_power")
    if isinstance(power, dict) and isinstance(power.get("evidence"), str):
        host["emergency_power"] = {**power, "evidence": resolve_path(power["evidence"], base)}
    tls = host.get("tls")
    if isinstance(tls, dict):
        host["tls"] = {k: resolve_path(v, base) if k in ("cert", "key") and isinstance(v, str) else v
                       for k, v in tls.items()}
    return host


def missing_files(inventory: Inventory) -> list[str]:
    """Files the inventory names that are not on this machine (warnings for `check`)."""
    out = []
    for name, host in inventory.hosts().items():
        for key in _PATH_FIELDS:
            value = getattr(host, key, None)
            if value and not Path(value).is_file():
                out.append(f"{name}: {key} {value} does not exist on this machine")
    for name, difusor in inventory.difusores.items():
        evidence = difusor.emergency_power.evidence
        if not Path(evidence).is_file():
            out.append(f"{name}: emergency_power.evidence {evidence} does not exist on this "
                       "machine (verify reports CONV-II.e as not met until it does)")
    return out
