"""`prep-iac simulacro`: a whole election night on local lab hosts, accelerated."""

from __future__ import annotations

import re
import shutil
import sys
import time
from pathlib import Path

import click
from rich.live import Live
from rich.table import Table

from prep_iac.console import err, out
from prep_iac.contract import MISSED_PERIODS
from prep_iac.errors import PrepError
from prep_iac.lab.spec import MAX_DIFUSORES


def _seconds(text: str) -> int:
    match = re.fullmatch(r"(\d+)\s*(s|m)?", text.strip())
    if not match:
        raise click.BadParameter(f"{text!r}: expected seconds like 10s or minutes like 1m")
    value = int(match.group(1)) * (60 if match.group(2) == "m" else 1)
    if value < 5:
        raise click.BadParameter(f"the period must be at least 5 s (the watchdog needs "
                                 f"{MISSED_PERIODS} of them)")
    return value


OWN_MARK = ".prep-simulacro"  # marks a folder as a drill's output, which the next drill replaces


def claim_output(out_dir: Path) -> None:
    """The drill's output folder: a drill's own earlier output (finished or not) moves to
    OUT.anterior (the one before that is dropped), so the README's command runs again after
    any run and a failed run's evidence survives the next; anything else is refused."""
    if out_dir.exists() and any(out_dir.iterdir()):
        if not ((out_dir / OWN_MARK).exists() or (out_dir / "simulacro.json").exists()):
            raise PrepError(f"{out_dir} exists, is not empty and is not a drill's output",
                            "choose another --out, or remove it")
        previous = out_dir.with_name(out_dir.name + ".anterior")
        shutil.rmtree(previous, ignore_errors=True)
        out_dir.rename(previous)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / OWN_MARK).write_text("the output of prep-iac simulacro; the next run replaces it\n")


@click.command()
@click.option("--difusores", default=2, show_default=True, type=click.IntRange(1, MAX_DIFUSORES),
              help="lab difusores; how many this machine can hold is checked before anything "
                   "boots (docs/lab.md)")
@click.option("--ha", is_flag=True, help="difusor-1 and difusor-2 as an HA pair (keepalived)")
@click.option("--periodo", default="6s", show_default=True,
              help="wall-clock length of one 10-minute period of the night")
@click.option("--desde", default="18:00", show_default=True, help="first cut of the night")
@click.option("--hasta", default="02:00", show_default=True, help="last cut of the night")
@click.option("--faults", "faults", default="default", show_default=True,
              help="default, none, or a YAML fault plan (docs/simulacro.md)")
@click.option("--out", "out_dir", default="simulacro", show_default=True,
              type=click.Path(file_okay=False, path_type=Path))
@click.option("--keep", is_flag=True, help="leave the lab running afterwards")
@click.option("-i", "--inventory", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="drill real hosts of this inventory instead of the lab")
@click.option("--actas", default=4000, show_default=True, type=int,
              help="actas of the night; the generator's limit is checked before anything boots")
@click.option("--seed", default=7, show_default=True)
def simulacro(difusores, ha, periodo, desde, hasta, faults, out_dir, keep, inventory, actas, seed):
    """A whole election night, accelerated: cuts, pushes, visitors, faults, checks, report."""
    from prep_iac.corte.election import check_actas
    from prep_iac.lab import capacity
    from prep_iac.simulacro.drill import Options, conformance_periods, night_times
    from prep_iac.simulacro.plan import check_schedule, load_plan
    from prep_iac.simulacro.run import require_root
    from prep_iac.simulacro.run import simulacro as run

    check_actas(actas)
    period = _seconds(periodo)
    if inventory is None:
        require_root()  # the lab: mounts, bridges, systemd-nspawn
        capacity.check_night(difusores, period)  # the memory's check comes when the lab boots
    try:
        periods = len(night_times(desde, hasta))
    except ValueError:
        raise PrepError(f"--desde {desde!r} / --hasta {hasta!r} are not times HH:MM",
                        "e.g. --desde 18:00 --hasta 02:00") from None
    quiet = conformance_periods(period, difusores)
    plan = load_plan(faults, difusores, ha, first=quiet + 1)
    if not plan.faults:  # no fault to keep clear of: the closing run may overlap the opening's
        quiet = max(1, min(quiet, periods - 2))
    check_schedule(plan, periods, quiet)
    claim_output(out_dir)
    opts = Options(difusores=difusores, ha=ha, period_s=period, desde=desde, hasta=hasta,
                   plan=plan, quiet=quiet, out=out_dir.resolve(), keep=keep, actas=actas, seed=seed)
    started = time.monotonic()

    def log(message: str) -> None:
        err.print(f"[dim]{time.monotonic() - started:6.0f} s[/] {message}", highlight=False)

    with Live(console=err, refresh_per_second=2, transient=True) as live:
        def progress(period, total, cut_id, observer):
            live.update(_view(period, total, cut_id, observer))

        results = run(opts, inventory=inventory, log=log, progress=progress)
    _print_summary(results, opts.out)
    sys.exit(0 if results["ok"] else 1)


def _view(period: int, total: int, cut_id: str, observer) -> Table:
    table = Table(title=f"periodo {period + 1}/{total} · corte {cut_id}")
    for col in ("difusor", "corte servido", "estado", "error"):
        table.add_column(col)
    for target in observer.targets:
        current = observer.current(target.name) or (None, None, None)
        table.add_row(target.name, str(current[0] or "—"), str(current[1] or "—"),
                      str(current[2] or ""))
    return table


def _print_summary(results: dict, out_dir: Path) -> None:
    table = Table(title="simulacro: " + ("todo se cumplió" if results["ok"] else "FALLÓ"))
    table.add_column("comprobación")
    table.add_column("resultado")
    table.add_column("detalle", overflow="fold")
    for c in results["checks"]:
        table.add_row(c["name"], "cumple" if c["ok"] else "[red]no cumple[/]", c["detail"])
    for f in results["faults"]:
        table.add_row(f"falla {f['kind']} (periodo {f['at']})",
                      "cumple" if f["ok"] else "[red]no cumple[/]",
                      "; ".join(f["evidence"]) or str(f["observed"]))
    out.print(table)
    prop = results.get("propagation", {})
    if prop.get("n"):
        out.print(f"propagación: mediana {prop['median_s']} s, p95 {prop['p95_s']} s")
    out.print(f"resumen: {out_dir / 'simulacro.html'}  ·  {out_dir / 'simulacro.json'}")
