"""One whole drill, start to end: lab, deploys, conformance, the night, checks, summary."""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from prep_iac import children
from prep_iac.errors import PrepError
from prep_iac.inventory import load_inventory
from prep_iac.lab import cpu
from prep_iac.simulacro import setup, summary, verdicts
from prep_iac.simulacro.drill import Drill, Options, night_times
from prep_iac.simulacro.plan import check_lab_only, check_targets


def simulacro(opts: Options, inventory: Path | None = None, log=print, progress=None) -> dict:
    """Run the drill; returns the results (also written to opts.out). On the lab unless an
    inventory of real hosts is given."""
    started = dt.datetime.now(dt.UTC).astimezone()
    lab = None
    if inventory is not None:
        check_lab_only(opts.plan)
        inventory = _real_inventory(inventory, opts)
    else:
        from prep_iac.lab import Lab

        name, subnet = setup.lab_name_and_subnet()
        lab = Lab.fresh(name, subnet)
        log(f"laboratorio: {opts.difusores} difusores y 1 publicador")
        lab.up(difusores=opts.difusores, publishers=1)
        inventory = setup.drill_inventory(lab.inventory_path, opts.out, opts.period_s, opts.ha)
    try:
        names = sorted(load_inventory(inventory).difusores)
        check_targets(opts.plan, names, opts.ha)
        results = _drill(lab, inventory, opts, started, log, progress)
    finally:
        if lab is not None and not opts.keep:
            log("desmontando el laboratorio")
            lab.destroy()
    return results


def _drill(lab, inventory: Path, opts: Options, started, log, progress) -> dict:
    checks = []
    log("desplegando difusores y publicador (dos veces: la segunda no debe cambiar nada)")
    t0 = time.monotonic()
    first = setup.deploy_all(inventory)
    setup.require_ok(first, "first", opts.out)
    t1 = time.monotonic()
    second = setup.deploy_all(inventory)
    rerun_s = time.monotonic() - t1
    setup.require_ok(second, "second", opts.out)
    checks.append(verdicts.idempotence_check(second, time.monotonic() - t0))
    drill = Drill(lab, inventory, opts, log=log)
    drill.prepare()
    periods = len(night_times(opts.desde, opts.hasta))
    if lab is not None:
        log("el calendario de la noche: el PREP abre con el primer corte y cierra medio "
            f"periodo después del último; los resultados siguen publicados "
            f"{setup.AFTER_CLOSE_PERIODS} periodos más")
        start_at = setup.open_window(inventory, len(drill.difusor_names), periods,
                                     opts.period_s, opts.out, rerun_s)
        drill.reload_inventory()
    else:
        log("hosts reales en su etapa de simulacros: el material se firma como simulacro y "
            "el público sigue viendo la página de «aún no inicia»")
        start_at = setup.drill_stage_start(inventory)
    runs: dict[str, Future] = {}
    windows: dict[str, list[float]] = {}  # each run's wall-clock [start, end]
    pool = ThreadPoolExecutor(max_workers=2)

    def conformance(tag: str, title: str):
        def start():
            log(title)
            # The lab's waivers, signed with its IEC key; real hosts bring the Institute's.
            waivers = lab.waivers_path if lab is not None else None
            windows[tag] = [time.time(), time.time()]

            def timed() -> dict:
                try:
                    return drill.conformance(waivers, tag)
                finally:
                    windows[tag][1] = time.time()
            runs[tag] = pool.submit(timed)
        return start

    log(f"la noche: {opts.desde}–{opts.hasta}, {periods} cortes, uno cada {opts.period_s} s")
    cpu_before = cpu.snapshot(lab.name, lab.hosts) if lab is not None else None
    drill.night(start_at, progress=progress, at_period={
        1: conformance("apertura", "conformidad a la apertura (sin fallas hasta que termine)"),
        periods - opts.quiet: conformance("cierre", "conformidad al cierre (sin fallas)")})
    # Where the lab's CPU went through the night (prep_iac/lab/cpu.py): what sizes a drill.
    night_cpu = (cpu.split(cpu_before, cpu.snapshot(lab.name, lab.hosts)) if lab is not None
                 else None)
    for tag, title in (("apertura", "conformidad a la apertura"), ("cierre", "conformidad al cierre")):
        checks.append(verdicts.conformance_check(title, runs[tag].result() if tag in runs else {}))
    pool.shutdown()
    summary.mark_checks_running(drill.cuts, [tuple(w) for w in windows.values()], opts.period_s)
    after = runs["cierre"].result() if "cierre" in runs else {}
    checks.append(verdicts.propagation_check(drill.cuts, drill.difusor_names, drill.period_s,
                                             drill.observer, drill.excused))
    if lab is not None:
        checks.append(verdicts.integrity_check(drill.targets, opts.out / "cortes", opts.seed))
        checks.append(verdicts.close_check(drill))
    else:
        checks.extend(verdicts.not_public_checks())
    faults = verdicts.judge_faults(drill.injectors)
    memoria = _memoria(inventory, opts.out, started)
    results = {
        "started": started.isoformat(timespec="seconds"),
        "finished": dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="seconds"),
        "config": {"difusores": opts.difusores, "ha": opts.ha, "periodo_s": opts.period_s,
                   "desde": opts.desde, "hasta": opts.hasta, "difusor_names": drill.difusor_names,
                   "faults": [f.model_dump() for f in opts.plan.faults]},
        "checks": checks, "faults": faults, "cuts": drill.cuts,
        "conformance": {f"{k} (cierre)": v for k, v in after.items()},
        "conformance_windows": windows,
        "memoria": memoria, "visitors": drill.visitors.summary(), "cpu": night_cpu,
        "timeline": drill.observer.as_dicts(),
    }
    results["ok"] = verdicts.night_ok(checks, faults)
    summary.write(results, opts.out)
    return results


def _memoria(inventory: Path, out: Path, started) -> dict | None:
    """The night's memoria técnica, from the difusores' own logs and journals."""
    prep = [sys.executable, "-m", "prep_iac.cli", "memoria"]
    fmt = "%Y-%m-%d %H:%M"
    desde = (started - dt.timedelta(minutes=5)).strftime(fmt)
    hasta = (dt.datetime.now(started.tzinfo) + dt.timedelta(minutes=5)).strftime(fmt)
    tz = ["--tz", str(started.tzinfo)] if str(started.tzinfo) != "UTC" else ["--tz", "UTC"]
    logs = out / "memoria-logs"
    collect = children.run([*prep, "collect", "-i", str(inventory), "--desde", desde,
                            "--hasta", hasta, *tz, "--out", str(logs)],
                           capture_output=True, text=True, timeout=600)
    if collect.returncode:
        return {"html": "", "hits": 0, "visitors": 0, "error": collect.stderr[-1500:]}
    report_dir = out / "memoria"
    report = children.run([*prep, "report", "--logs", str(logs), "--desde", desde, "--hasta",
                           hasta, *tz, "-i", str(inventory), "--out", str(report_dir)],
                          capture_output=True, text=True, timeout=600)
    if report.returncode:
        return {"html": "", "hits": 0, "visitors": 0, "error": report.stderr[-1500:]}
    totals = json.loads((report_dir / "report.json").read_text())["window"]["totals"]
    return {"html": "memoria/report.html", "hits": totals.get("hits"),
            "visitors": totals.get("visitors")}


def _real_inventory(inventory: Path, opts: Options) -> Path:
    """A real inventory drills as it is, but for the drill's period: a copy with period_s."""
    inv = load_inventory(inventory)
    if not inv.publishers or not inv.difusores:
        raise PrepError(f"{inventory} needs publishers and difusores for a drill",
                        "use an inventory with the IEC's publisher and the difusores it feeds")
    return setup.with_period(inventory, opts.out, opts.period_s)


def require_root() -> None:
    import os

    if os.geteuid() != 0:
        raise PrepError("the drill boots lab hosts and needs root",
                        "run it as root: ./dev simulacro")


__all__ = ["require_root", "simulacro"]
