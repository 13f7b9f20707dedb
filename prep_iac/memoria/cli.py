"""`prep-iac memoria collect|report` — parses options, calls collect.py / report.py, prints."""

from __future__ import annotations

from pathlib import Path

import click

from prep_iac.cliopts import Renamed
from prep_iac.errors import PrepError

DEFAULT_TZ = "America/Monterrey"
TZ_HELP = (f"Time zone of --desde/--hasta and of the report's hours [default: the inventory's "
           f"iec.calendar.timezone, else {DEFAULT_TZ}].")


def _inventory(path: Path | None):
    """The typed inventory (schema defaults filled in), or None without -i."""
    if path is None:
        return None
    from prep_iac.inventory import load_inventory

    return load_inventory(path)


def _tz(tz: str | None, inventory) -> str:
    if tz:
        return tz
    return inventory.iec.calendar.timezone if inventory is not None else DEFAULT_TZ


def _day(text: str):
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise PrepError(f"--entrega {text!r} is not a date", "write it as YYYY-MM-DD") from None


@click.group()
def memoria():
    """Memoria técnica (CONV-VI): the difusor's logs bundled, and the report from them."""


@memoria.command()
@click.option("-i", "--inventory", type=click.Path(path_type=Path),
              help="Inventory with the difusor nodes (both nodes of an HA pair).")
# --from: its name in prep-iac 0.1 (issue 20), still accepted; corte's --desde is a time.
@click.option("--bitacoras", "source", cls=Renamed, old=("--from",),
              type=click.Path(path_type=Path), metavar="FOLDER",
              help="Take each node's files from FOLDER/<node>/ instead of fetching over SSH.")
@click.option("--desde", required=True, help="Start, e.g. '2021-06-06 00:00' (in --tz).")
@click.option("--hasta", required=True, help="End, e.g. '2021-06-08 00:00' (in --tz).")
@click.option("--tz", help=TZ_HELP)
@click.option("--out", required=True, type=click.Path(path_type=Path))
def collect(inventory, source, desde, hasta, tz, out):
    """Fetch access logs and journals of every node; bundle the days asked for with SHA-256."""
    from datetime import datetime

    from prep_iac.console import err
    from prep_iac.memoria import collect as c
    from prep_iac.memoria import report as r

    inv = _inventory(inventory)
    zone = r.zone(_tz(tz, inv))
    since = datetime.fromtimestamp(r.parse_when(desde, zone), zone)
    until = datetime.fromtimestamp(r.parse_when(hasta, zone), zone)
    if until <= since:
        raise PrepError("--hasta is not after --desde", "fix the dates")
    if inv:
        nodes = c.nodes_from_inventory(inv)
    elif source:
        nodes = c.nodes_from_folder(source)
    else:
        raise PrepError("no nodes to collect from", "give -i INVENTORY or --bitacoras FOLDER")
    if source:
        fetch = c.copy_from(source)
    else:
        from prep_iac import preflight
        from prep_iac.memoria.sshfetch import ssh_fetch

        preflight.check(inv, [n.name for n in nodes])  # keys, reachable, pinned host keys
        fetch = ssh_fetch(inventory)
    summary = c.collect(nodes, out, since, until, fetch, zone)
    err.print(f"[green]bundle:[/] {out / 'bitacoras.tar.gz'} ({len(summary['archivos'])} files, "
              f"SHA-256 in {out / 'SHA256SUMS'}); incidents: {len(summary['incidentes'])}")
    if inv and inv.portal_logs:
        import json

        from prep_iac.memoria import baseline

        base = baseline.collect_portal(inv.portal_logs, out, since)
        (out / f"{baseline.BASELINE_DIR}.json").write_text(
            json.dumps(base, indent=1, ensure_ascii=False) + "\n")
        err.print(f"[green]baseline:[/] {out / baseline.BASELINE_DIR} ({len(base['archivos'])} "
                  f"files of the portal, {base['desde'][:10]} to {base['hasta'][:10]})")


@memoria.command()
@click.option("--logs", required=True, type=click.Path(path_type=Path),
              help="Folder with the access logs (and journal.json), e.g. collect's --out.")
@click.option("--baseline-logs", type=click.Path(path_type=Path),
              help="Logs of the portal's usual days (before the election).")
@click.option("--baseline-days", type=click.IntRange(1, 366),
              help="Use the N days before --desde, from --logs, as the baseline.")
@click.option("--desde", help="PREP window start, e.g. '2021-06-06 18:00' (default: logs' start).")
@click.option("--hasta", help="PREP window end (default: logs' end).")
@click.option("--tz", help=TZ_HELP)
@click.option("-i", "--inventory", type=click.Path(path_type=Path),
              help="Read the rate limit, link capacity and time zone from this inventory.")
@click.option("--rate-limit", type=float, help="Requests/s allowed per address.")
@click.option("--link-mbps", type=float, help="Link capacity in Mbps.")
@click.option("--cut", "cuts", multiple=True, help="A cut id to mark (e.g. 20210606_2000_…).")
@click.option("--no-pdf", is_flag=True, help="Skip report.pdf.")
@click.option("--entrega", "delivered", metavar="YYYY-MM-DD",
              help="The day the memoria is delivered to the IEC, recorded against the "
                   "inventory's iec.calendar.memoria_by [default: today].")
@click.option("--out", required=True, type=click.Path(path_type=Path))
# For bench/memoria.py: when each step ended (epoch s) and the CPU s used by then, into FILE.
@click.option("--timings", type=click.Path(path_type=Path), hidden=True)
def report(logs, baseline_logs, baseline_days, desde, hasta, tz, inventory, rate_limit,
           link_mbps, cuts, no_pdf, delivered, out, timings):
    """Write report.html, report.pdf and report.json from the logs."""
    import time

    marks = {}

    def phase(name: str) -> None:
        marks[name] = (time.time(), time.process_time())

    phase("started")

    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    from prep_iac.console import err
    from prep_iac.memoria import report as r

    if baseline_logs and baseline_days:
        raise PrepError("--baseline-logs and --baseline-days both given", "choose one")
    try:
        import polars  # noqa: F401
    except ModuleNotFoundError as exc:
        raise PrepError(f"the report needs {exc.name}, which is not installed",
                        "pip install 'prep-iac[report]'") from None
    if not no_pdf:
        from prep_iac.memoria import pdf

        pdf.preload()
    phase("imports")
    inv = _inventory(inventory)
    limits = {}
    if inv:  # collect (and the inventory's models) only with -i: ~0.1 CPU s of imports
        from prep_iac.memoria import collect as c

        limits = c.inventory_limits(inv)
    opts = r.Options(logs=logs, out=out, tz=_tz(tz, inv), desde=desde, hasta=hasta,
                     baseline_logs=baseline_logs, baseline_days=baseline_days,
                     rate_limit_rps=rate_limit or limits.get("rate_limit_rps"),
                     link_mbps=link_mbps or limits.get("link_mbps"), cut_ids=list(cuts),
                     pdf=not no_pdf, memoria_by=inv.iec.calendar.memoria_by if inv else None,
                     delivered=_day(delivered) if delivered else None)
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                  TimeRemainingColumn(), console=err, transient=True) as bar:
        tasks: dict[str, int] = {}

        def progress(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(f"leyendo {label}", total=total)
            bar.update(tasks[label], completed=done)

        data = r.build(opts, progress, phase)
    t = data["window"]["totals"]
    err.print(f"[green]report:[/] {out}/report.html, report.pdf, report.json — "
              f"{t['hits']:,} hits, {t['pages']:,} páginas, {t['visitors']:,} visitantes, "
              f"{len(data['incidents'])} incidentes")
    if data.get("entrega"):
        e = data["entrega"]
        err.print(f"entrega {e['fecha_entrega']} (fecha límite {e['fecha_limite']}): "
                  + ("a tiempo" if e["estado"] == "a tiempo"
                     else f"tarde, {e['dias_de_retraso']} días de retraso"))
    if timings:
        phase("done")
        import json

        timings.write_text(json.dumps(marks) + "\n")
    import prep_iac.cli

    prep_iac.cli.skip_teardown = True  # every file above is written and closed
