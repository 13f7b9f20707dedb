"""`prep-iac deploy ROLE -i INVENTORY`: runs `pyinfra inventories/env.py deploys/ROLE.py`.

A thin wrapper on purpose: the CLI and plain pyinfra run the same deploy file on the same
inventory, so there is one path to a configured server, not two.
"""

import os
import subprocess
from pathlib import Path

import click

from prep_iac.errors import PrepError
from prep_iac.inventory.loader import load_inventory
from prep_iac.paths import DEPLOYS_DIR
from prep_iac.pyinfra_run import ENV_SHIM, PYINFRA

ROLE_GROUPS = {"difusor": "difusores", "publisher": "publishers"}


def deploy_command(role: str, inventory: str, *, dry=False, limit=None, yes=True,
                   extra: tuple[str, ...] = ()) -> list[str]:
    deploy_file = DEPLOYS_DIR / f"{role}.py"
    if not deploy_file.is_file():
        known = ", ".join(sorted(p.stem for p in DEPLOYS_DIR.glob("*.py")))
        raise PrepError(f"no deploy named {role!r}", f"use one of: {known}")
    inv = load_inventory(inventory)  # fail here, with the schema's messages, not inside pyinfra
    group = ROLE_GROUPS.get(role)
    if group and not getattr(inv, group):
        raise PrepError(f"{inventory} has no {group}: nothing for the {role} deploy to do",
                        f"add hosts under '{group}:' or choose another inventory")
    cmd = [PYINFRA if Path(PYINFRA).exists() else "pyinfra", str(ENV_SHIM), str(deploy_file)]
    cmd += ["--limit", limit or group] if (limit or group) else []
    cmd += ["--dry"] if dry else []
    cmd += ["-y"] if yes else []
    return cmd + list(extra)


def run_deploy(role: str, inventory: str, **kwargs) -> int:
    cmd = deploy_command(role, inventory, **kwargs)
    env = dict(os.environ, PREP_INVENTORY=str(Path(inventory).resolve()))
    return subprocess.call(cmd, env=env)


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("role")
@click.option("-i", "--inventory", required=True, type=click.Path(dir_okay=False))
@click.option("--dry", is_flag=True, help="show what would change, change nothing")
@click.option("--limit", help="only this host (or group)")
@click.option("-y", "--yes", is_flag=True, help="do not ask for confirmation")
@click.argument("pyinfra_args", nargs=-1, type=click.UNPROCESSED)
def deploy(role, inventory, dry, limit, yes, pyinfra_args):
    """Run deploys/ROLE.py (difusor, publisher) on an inventory with pyinfra."""
    rc = run_deploy(role, inventory, dry=dry, limit=limit, yes=yes, extra=pyinfra_args)
    raise SystemExit(rc)
