"""`prep-iac corte`: generate PREP cuts and check them. Parses, calls the library, prints."""

import time
from datetime import date, datetime
from pathlib import Path

import click

from prep_iac.cliopts import Renamed
from prep_iac.errors import PrepError

NEWLINE_NAMES = {"\r\n": "CRLF", "\n": "LF", "\r": "CR"}


def _date(value: str) -> date:
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise PrepError(f"cannot read the date {value!r}", "write it as 2021-06-06") from None


@click.group()
def corte():
    """PREP cuts: the database package, acta images and static site of each cut."""


@corte.command()
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Folder for the cuts (new, empty, or made by an earlier run).")
@click.option("--seed", default=7, show_default=True, help="Same seed, same election.")
@click.option("--at", "at", help='Cut time: "2021-06-06 20:00" or "20:00".')
@click.option("--series", is_flag=True, help="Write every cut from --desde to --hasta.")
# --from/--to/--every: the names of prep-iac 0.1 (issue 20), still accepted, not shown.
@click.option("--desde", "start", cls=Renamed, old=("--from",), default="18:00",
              show_default=True, help="First cut.")
@click.option("--hasta", "end", cls=Renamed, old=("--to",), default="18:00", show_default=True,
              help="Last cut (a time not after --desde is the next day).")
@click.option("--periodo", "every", cls=Renamed, old=("--every",), default="10m",
              show_default=True, help="Period between cuts, e.g. 10m or 30s.")
@click.option("--actas", default=4000, show_default=True, help="Expected actas (casillas).")
@click.option("--images/--no-images", default=True, show_default=True,
              help="Write acta images under actas/.")
@click.option("--image-kb", default=24, show_default=True, help="Size of each acta image.")
@click.option("--tz", default="America/Monterrey", show_default=True,
              help="The Institute's time zone.")
@click.option("--date", "election_date", default="2021-06-06", show_default=True,
              help="Election day; the PREP opens at 18:00.")
@click.option("--encoding", default="utf-8", show_default=True,
              type=click.Choice(["utf-8", "utf-8-sig", "latin-1", "cp1252"]),
              help="Encoding of the CSVs and LEEME.txt (utf-8-sig writes a BOM).")
@click.option("--newline", default="crlf", show_default=True,
              type=click.Choice(["crlf", "lf", "cr"]), help="Line endings of the files.")
@click.option("--delimiter", default=",", show_default=True, type=click.Choice([",", "|"]),
              help="Field separator of the CSVs.")
def generate(out_dir, seed, at, series, start, end, every, actas, images, image_kb, tz,
             election_date, encoding, newline, delimiter):
    """Write what the Institute would publish at a cut (or at every cut of a series)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from prep_iac.console import out
    from prep_iac.corte import CsvFormat, Election, cut, timing

    if not at and not series:
        raise PrepError("nothing to generate", 'give --at "2021-06-06 20:00" or --series')
    timing.zone(tz)  # an unknown zone fails here, before anything else
    fmt = CsvFormat(encoding=encoding, newline=newline, delimiter=delimiter)
    election = Election(seed=seed, actas=actas, election_date=_date(election_date), tz=tz,
                        image_kb=image_kb)
    period = timing.parse_period(every)
    times = election.series(start, end, period)
    for t in times:
        cut.check_moment(election, t)
    if at:
        moment = election.local(at)
        timing.check_in_series(moment, times, period)
        times = [moment]
    cut.ensure_out_dir(out_dir, create=False)  # refuse a foreign folder before writing

    started = time.perf_counter()
    folders: list[Path] = []
    if len(times) == 1:
        folders.append(cut.write_cut(election, times[0], out_dir, images=images, fmt=fmt))
    else:
        with Progress(TextColumn("{task.description}"), BarColumn(),
                      TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                      console=out) as bar:
            task = bar.add_task("cortes", total=len(times))

            def advance(moment, folder):
                bar.update(task, advance=1, description=folder.name)

            folders = cut.write_series(election, times, out_dir, images=images, fmt=fmt,
                                       on_cut=advance)
    elapsed = time.perf_counter() - started
    _print_cuts(folders, elapsed)


def _print_cuts(folders: list[Path], elapsed: float) -> None:
    from rich.table import Table

    from prep_iac.console import out
    from prep_iac.corte import csvreader, package

    table = Table(title=f"{len(folders)} corte(s) in {elapsed:.2f} s")
    table.add_column("cut", no_wrap=True, min_width=28)
    for col in ("captured", "counted", "particip.", "files"):
        table.add_column(col, justify="right")
    shown = folders if len(folders) <= 12 else folders[:3] + folders[-8:]
    for folder in shown:
        # The summary as published: read back from the zip, not from memory.
        head = csvreader.parse(package.read_member(folder / f"{folder.name}.zip")).summary
        files = sum(1 for p in folder.rglob("*") if p.is_file())
        table.add_row(folder.name,
                      f"{head['ACTAS_CAPTURADAS']} ({head['PORCENTAJE_ACTAS_CAPTURADAS']}%)",
                      head["PORCENTAJE_ACTAS_CONTABILIZADAS"] + "%",
                      head["PORCENTAJE_PARTICIPACION_CIUDADANA"] + "%", str(files))
    out.print(table)
    out.print(f"written under {folders[0].parent}")


@corte.command("check")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="print the verdict and findings as JSON")
def check_cmd(path, as_json):
    """Recompute a cut's summary from its rows and report any mismatch (exit 1)."""
    from rich.table import Table

    from prep_iac.console import echo_json, out
    from prep_iac.corte import check as checker

    report = checker.check(path)
    p = report.parsed
    endings = NEWLINE_NAMES[p.newline]
    if as_json:
        echo_json({"source": str(report.source), "ok": report.ok, "election": p.election,
                   "cut_line": p.cut_line, "rows": len(p.rows), "delimiter": p.delimiter,
                   "encoding": p.encoding, "newline": endings,
                   "images_checked": report.images_checked,
                   "findings": [{"where": f.where, "what": f.what} for f in report.findings]})
        if not report.ok:
            raise click.exceptions.Exit(1)
        return
    out.print(f"[bold]{report.source}[/]: {p.election}, {p.cut_line}, {len(p.rows)} rows, "
              f"delimiter {p.delimiter!r}, {p.encoding}, "
              f"{endings}", highlight=False)
    if report.images_checked:
        out.print(f"{report.images_checked} acta images checked against the SHA column")
    if report.ok:
        out.print("[green]ok[/]: the summary matches its rows")
        return
    table = Table(title=f"{len(report.findings)} problem(s)")
    table.add_column("where")
    table.add_column("what")
    for f in report.findings:
        table.add_row(f.where, f.what)
    out.print(table)
    raise click.exceptions.Exit(1)
