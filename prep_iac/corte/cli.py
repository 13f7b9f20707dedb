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
@click.option("--ambito", type=click.Choice(["local", "nacional"]), default="local",
              show_default=True,
              help="local: Coahuila's ayuntamientos; nacional: the federal elections "
                   "(PRES, SEN, DIP) on 32 entities and 300 districts, one package each.")
@click.option("--actas", type=int, help="Expected actas (casillas) of a local cut [4000].")
@click.option("--casillas", type=int,
              help="Casillas of a national cut (one acta per election each) [170182].")
@click.option("--elecciones", help="Elections of a national cut, e.g. PRES,DIP [PRES,SEN,DIP].")
@click.option("--images/--no-images", default=None,
              help="Write acta images under actas/ [local: yes; a national cut has none].")
@click.option("--image-kb", default=24, show_default=True, help="Size of each acta image.")
@click.option("--tz", help="The Institute's time zone [America/Monterrey; nacional: "
                           "America/Mexico_City].")
@click.option("--date", "election_date",
              help="Election day; the PREP opens at 18:00 [2021-06-06; nacional: 2024-06-02].")
@click.option("--encoding", default="utf-8", show_default=True,
              type=click.Choice(["utf-8", "utf-8-sig", "latin-1", "cp1252"]),
              help="Encoding of the CSVs and LEEME.txt (utf-8-sig writes a BOM).")
@click.option("--newline", default="crlf", show_default=True,
              type=click.Choice(["crlf", "lf", "cr"]), help="Line endings of the files.")
@click.option("--delimiter", default=",", show_default=True, type=click.Choice([",", "|"]),
              help="Field separator of the CSVs.")
def generate(out_dir, seed, at, series, start, end, every, ambito, actas, casillas, elecciones,
             images, image_kb, tz, election_date, encoding, newline, delimiter):
    """Write what the Institute would publish at a cut (or at every cut of a series)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from prep_iac.console import out
    from prep_iac.corte import CsvFormat, Election, cut, timing

    if not at and not series:
        raise PrepError("nothing to generate", 'give --at "2021-06-06 20:00" or --series')
    nacional = ambito == "nacional"
    tz = tz or ("America/Mexico_City" if nacional else "America/Monterrey")
    timing.zone(tz)  # an unknown zone fails here, before anything else
    fmt = CsvFormat(encoding=encoding, newline=newline, delimiter=delimiter)
    if nacional:
        election = _national(seed, actas, casillas, elecciones, images, tz, election_date)
        images = False
    else:
        if casillas is not None or elecciones is not None:
            raise PrepError("--casillas and --elecciones are for a national cut",
                            "add --ambito nacional, or give --actas for a local cut")
        election = Election(seed=seed, actas=4000 if actas is None else actas,
                            election_date=_date(election_date or "2021-06-06"), tz=tz,
                            image_kb=image_kb)
        images = True if images is None else images
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
    if nacional:
        from prep_iac.corte.nacional_cut import write_national_cut

        for moment in times:
            folders.append(write_national_cut(election, moment, out_dir, fmt=fmt))
    elif len(times) == 1:
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
    if nacional:
        _print_national(folders, elapsed)
    else:
        _print_cuts(folders, elapsed)


def _national(seed, actas, casillas, elecciones, images, tz, election_date):
    """The national night, after refusing what it cannot take (nothing written yet)."""
    from prep_iac.corte import nacional_catalogue
    from prep_iac.corte.nacional import NationalElection, check_casillas

    if actas is not None:
        raise PrepError("--actas counts a local cut's actas",
                        "a national cut takes --casillas (each casilla holds one acta per election)")
    if images:
        raise PrepError("a national cut has no acta images (half a million of them would be "
                        "~12 GB a cut)", "drop --images; the SHA column is filled all the same")
    casillas = nacional_catalogue.DEFAULT_CASILLAS if casillas is None else casillas
    check_casillas(casillas)
    codes = [c.strip().upper() for c in elecciones.split(",")] if elecciones else None
    return NationalElection(seed=seed, casillas=casillas, elections=codes, tz=tz,
                            election_date=_date(election_date or "2024-06-02"))


def _print_national(folders: list[Path], elapsed: float) -> None:
    import json

    from rich.table import Table

    from prep_iac.console import out
    from prep_iac.corte.nacional_cut import INDEX_JSON

    table = Table(title=f"{len(folders)} corte(s) nacional(es) in {elapsed:.2f} s")
    table.add_column("cut", no_wrap=True, min_width=24)
    for col in ("election", "captured", "counted", "package"):
        table.add_column(col, justify="right")
    for folder in folders if len(folders) <= 6 else folders[:2] + folders[-4:]:
        index = json.loads((folder / INDEX_JSON).read_text("utf-8"))
        for e in index["elecciones"]:
            head = e["resumen"]
            table.add_row(folder.name, e["codigo"],
                          f"{head['ACTAS_CAPTURADAS']} ({head['PORCENTAJE_ACTAS_CAPTURADAS']}%)",
                          head["PORCENTAJE_ACTAS_CONTABILIZADAS"] + "%",
                          f"{e['zip_bytes'] / 1e6:.1f} MB")
    out.print(table)
    out.print(f"written under {folders[0].parent}")


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
    from prep_iac.console import echo_json, out
    from prep_iac.corte import check as checker
    from prep_iac.corte import nacional_check

    if nacional_check.is_national(path):
        _check_national(nacional_check.check_national(path), as_json)
        return
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
    _print_findings(report.findings)
    raise click.exceptions.Exit(1)


def _print_findings(findings) -> None:
    from rich.table import Table

    from prep_iac.console import out

    table = Table(title=f"{len(findings)} problem(s)")
    table.add_column("where")
    table.add_column("what")
    for f in findings:
        table.add_row(f.where, f.what)
    out.print(table)


def _check_national(report, as_json: bool) -> None:
    """Print a national cut's verdict: one line per election, then every problem."""
    from prep_iac.console import echo_json, out

    if as_json:
        echo_json({"source": str(report.folder), "ok": report.ok,
                   "elections": [{"code": code, "source": r.source, "election": r.parsed.election,
                                  "cut_line": r.parsed.cut_line, "rows": report.rows[code],
                                  "ok": r.ok} for code, r in report.elections],
                   "findings": [{"where": f.where, "what": f.what} for f in report.findings]})
    else:
        for code, r in report.elections:
            p = r.parsed
            state = "[green]ok[/]" if r.ok else f"[red]{len(r.findings)} problem(s)[/]"
            out.print(f"[bold]{code}[/] {r.source}: {p.election}, {p.cut_line}, {report.rows[code]} rows: "
                      f"{state}", highlight=False)
        if report.ok:
            out.print(f"[green]ok[/]: {len(report.elections)} elections, each summary matches "
                      "its rows, its package and its site")
            return
        _print_findings(report.findings)
    if not report.ok:
        raise click.exceptions.Exit(1)
