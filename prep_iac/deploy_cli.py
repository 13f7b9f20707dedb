"""`prep-iac deploy ROLE -i INVENTORY`: runs `pyinfra inventories/env.py deploys/ROLE.py`.

A thin wrapper on purpose: the CLI and plain pyinfra run the same deploy file on the same
inventory, so there is one path to a configured server, not two.
"""

from pathlib import Path

import click

from prep_iac import pyinfra_run
from prep_iac.errors import PrepError
from prep_iac.inventory.loader import load_inventory
from prep_iac.inventory.roles import GROUP_ROLES, ROLE_GROUPS
from prep_iac.paths import DEPLOYS_DIR


def _checked(role: str, inventory: str, limit: str | None = None,
             preflight: bool = False) -> tuple[Path, str | None]:
    """(the role's deploy file, its inventory group), or PrepError before pyinfra starts."""
    deploy_file = DEPLOYS_DIR / f"{role}.py"
    if not deploy_file.is_file():
        known = ", ".join(sorted(p.stem for p in DEPLOYS_DIR.glob("*.py")))
        raise PrepError(f"no deploy named {role!r}", f"use one of: {known}")
    inv = load_inventory(inventory)  # fail here, with the schema's messages, not inside pyinfra
    group = ROLE_GROUPS.get(role)
    if group and not getattr(inv, group):
        raise PrepError(f"{inventory} has no {group}: nothing for the {role} deploy to do",
                        f"add hosts under '{group}:' or choose another inventory")
    if preflight:  # key files, SSH reachable, pinned host keys: before pyinfra connects
        from prep_iac import preflight as checks

        checks.check(inv, _touched(inv, group, limit), key_fields=DEPLOY_KEY_FIELDS)
    return deploy_file, group


# The publisher deploy copies its SFTP identity and signing key to the host.
DEPLOY_KEY_FIELDS = ("ssh_key", "sftp_identity", "signing_key")


def _touched(inv, group: str | None, limit: str | None) -> list[str]:
    """The hosts pyinfra will connect to: the --limit (a host, a group or a glob), else the
    role's group, else all of them."""
    from fnmatch import fnmatchcase

    names = list(getattr(inv, group) if group else inv.hosts())
    if limit:
        groups = {g: list(getattr(inv, g)) for g in GROUP_ROLES}
        wanted = [n for p in limit.split(",") for n in
                  (groups.get(p) or [h for h in inv.hosts() if fnmatchcase(h, p)])]
        names = [n for n in inv.hosts() if n in wanted] if wanted else names
    return names


def deploy_command(role: str, inventory: str, *, dry=False, limit=None, yes=True,
                   extra: tuple[str, ...] = ()) -> list[str]:
    """The pyinfra command `prep-iac deploy` runs (pyinfra_run.pyinfra_command)."""
    deploy_file, group = _checked(role, inventory)
    return pyinfra_run.pyinfra_command(deploy_file, limit or group, dry=dry, yes=yes,
                                       extra_args=extra)


def deploy_role(role: str, inventory: str, *, dry=False, limit=None, yes=True,
                extra: tuple[str, ...] = ()) -> int:
    """Run the role's deploy through the one runner, pyinfra on the terminal; its exit code."""
    deploy_file, group = _checked(role, inventory, limit, preflight=True)
    result = pyinfra_run.run_deploy(inventory, deploy_file, limit or group, dry=dry, yes=yes,
                                    extra_args=extra, capture=False, cwd=None, timeout=None)
    return result.returncode


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("role")
@click.option("-i", "--inventory", required=True, type=click.Path(dir_okay=False))
@click.option("--dry", is_flag=True, help="show what would change, change nothing")
@click.option("--limit", help="only this host (or group)")
@click.option("-y", "--yes", is_flag=True, help="do not ask for confirmation")
@click.argument("pyinfra_args", nargs=-1, type=click.UNPROCESSED)
def deploy(role, inventory, dry, limit, yes, pyinfra_args):
    """Run deploys/ROLE.py (difusor, publisher, website; or calendar: only the files that
    hold the election's dates, on every host) on an inventory with pyinfra."""
    rc = deploy_role(role, inventory, dry=dry, limit=limit, yes=yes, extra=pyinfra_args)
    raise SystemExit(rc)
