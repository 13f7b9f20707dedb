"""`prep-iac inventory check -i FILE`."""

import click
from rich.markup import escape
from rich.table import Table

from prep_iac.console import err, out
from prep_iac.inventory.loader import load_inventory, missing_files


@click.group()
def inventory():
    """Inventories: the hosts and settings a deploy works on."""


@inventory.command()
@click.option("-i", "--inventory", "path", required=True, type=click.Path(dir_okay=False),
              help="YAML inventory file")
def check(path):
    """Validate an inventory and show what it describes."""
    inv = load_inventory(path)
    table = Table(title=f"{path}: valid")
    for col in ("host", "group", "address", "ssh", "details"):
        table.add_column(col)
    for name, d in inv.difusores.items():
        tls = d.tls.mode if d.tls else "none (HTTP only)"
        ha = f", HA with {d.ha.peer} on {d.ha.floating_address}" if d.ha else ""
        table.add_row(name, "difusores", d.address, f"{inv.ssh_user(name)}@:{d.ssh_port}",
                      f"{', '.join(d.server_names)}; tls {tls}{ha}")
    for name, p in inv.publishers.items():
        table.add_row(name, "publishers", p.address, f"{inv.ssh_user(name)}@:{p.ssh_port}",
                      f"drop {p.drop_dir}")
    out.print(table)
    w = inv.iec.window
    out.print(f"window {w.opens} → {w.closes} {w.timezone}; one cut every {inv.iec.period_s} s")
    for warning in missing_files(inv):
        err.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
