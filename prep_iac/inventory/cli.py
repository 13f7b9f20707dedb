"""`prep-iac inventory check -i FILE`."""

import datetime as dt

import click
from rich.markup import escape
from rich.table import Table

from prep_iac.console import err, out
from prep_iac.inventory.loader import load_inventory, missing_files
from prep_iac.inventory.schema import STAGES, Iec


@click.group()
def inventory():
    """Inventories: the hosts and settings a deploy works on."""


@inventory.command()
@click.option("-i", "--inventory", "path", required=True, type=click.Path(dir_okay=False),
              help="YAML inventory file")
@click.option("--json", "as_json", is_flag=True,
              help="print the hosts, the calendar and the warnings as JSON")
def check(path, as_json):
    """Validate an inventory and show what it describes."""
    inv = load_inventory(path)
    rows = []
    for name, d in inv.difusores.items():
        tls = d.tls.mode if d.tls else "none (HTTP only)"
        ha = f", HA with {d.ha.peer} on {d.ha.floating_address}" if d.ha else ""
        rows.append((name, "difusores", d.address, inv.ssh_user(name), d.ssh_port,
                     f"{', '.join(d.server_names)}; tls {tls}{ha}"))
    for name, p in inv.publishers.items():
        rows.append((name, "publishers", p.address, inv.ssh_user(name), p.ssh_port,
                     f"drop {p.drop_dir}"))
    for name, w in inv.websites.items():
        rows.append((name, "websites", w.address, inv.ssh_user(name), w.ssh_port,
                     f"public list at {w.public_url}"))
    now = dt.datetime.now(dt.UTC)
    lines = calendar_lines(inv.iec, now)
    warnings = missing_files(inv)
    if as_json:
        from prep_iac.console import echo_json

        echo_json({"inventory": str(path), "valid": True,
                   "hosts": [dict(zip(("host", "group", "address", "ssh_user", "ssh_port",
                                       "details"), row, strict=True)) for row in rows],
                   "stage": inv.iec.calendar.stage(now), "calendar": lines,
                   "warnings": warnings})
        return
    table = Table(title=f"{path}: valid")
    for col in ("host", "group", "address", "ssh", "details"):
        table.add_column(col)
    for name, group, address, user, port, details in rows:
        table.add_row(name, group, address, f"{user}@:{port}", details)
    out.print(table)
    for line in lines:
        out.print(escape(line), highlight=False, soft_wrap=True)
    for warning in warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)


def calendar_lines(iec: Iec, now: dt.datetime) -> list[str]:
    """The call's calendar, one line per stage, and the stage `now` is in."""
    cal = iec.calendar
    inst, drills = cal.installation, cal.drills
    what = (
        f"notice to the IEC by {cal.notice_by}",
        f"{inst.from_} to {inst.to}; infrastructure operating by {cal.infrastructure_by}",
        f"{drills.from_} to {drills.to}; drills on {', '.join(map(str, drills.days))}",
        f"the IEC publishes the list of difusores from {cal.public_list_from}",
        f"{cal.prep_opens} to {cal.prep_closes}: a cut every {iec.period_s} s",
        f"{cal.prep_closes} to {cal.publication_ends}: the final cut stays up",
        f"after {cal.publication_ends}; the memoria técnica is due {cal.memoria_by}",
    )
    local = now.astimezone(cal.prep_opens_at.tzinfo)
    lines = [f"process {iec.process}; calendar in {cal.timezone}:"]
    lines += [f"  {stage:<12} {text}" for stage, text in zip(STAGES, what, strict=True)]
    lines.append(f"now ({local:%Y-%m-%d %H:%M}): {cal.stage(now)}")
    if cal.accelerated:
        lines.append("accelerated calendar: the call's rules (the PREP opens at 18:00 or later, "
                     "results up until 23:59 of the ninth day) are not applied; conformance "
                     "reports CONV-I.1 unless waived")
    return lines
