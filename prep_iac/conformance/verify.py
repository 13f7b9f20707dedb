"""`prep-iac verify`: the testinfra suites against every host of an inventory, one pytest
process per host in parallel, over multiplexed SSH; then the report.

The suites are plain pytest-testinfra files: what runs here is exactly
``pytest prep_iac/conformance/suites --hosts=ssh://ADDRESS --ssh-config=… --sudo``.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from prep_iac import children, preflight
from prep_iac.conformance import deadlines, sshconfig
from prep_iac.conformance.aggregate import build_report
from prep_iac.conformance.checkids import SUITES_DIR, suite_requirements
from prep_iac.conformance.known import known_ids
from prep_iac.conformance.model import NO_CUMPLE, CheckResult, Command, clip
from prep_iac.conformance.report import write_reports
from prep_iac.conformance.signature import sign_files, signer_for
from prep_iac.conformance.waivers import load_waivers
from prep_iac.contract import READER_USER
from prep_iac.errors import PrepError
from prep_iac.inventory import load_inventory

HOST_TIMEOUT_S = 600
Progress = Callable[[str, str], None]


def _quiet(host: str, what: str) -> None:
    pass


def select_hosts(inventory, limit: str | None) -> list[str]:
    # The Institute's web host is its own server: no suite of the call applies to it (the
    # list it serves is checked by `prep-iac lista check`).
    names = [*inventory.difusores, *inventory.publishers]
    if not limit:
        return names
    wanted = [n.strip() for n in limit.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in names]
    if unknown:
        raise PrepError(f"--limit names {unknown[0]!r}, which is not a host of the inventory",
                        f"use one of: {', '.join(names)}")
    return [n for n in names if n in wanted]


def pytest_command(suites: Path, address: str, ssh_config: Path, inventory: Path,
                   results: Path, host_name: str, ini: Path, reader: bool = False) -> list[str]:
    """`reader`: as the Institute's read-only account: no --sudo (a root shell), the
    reader plugin sends the allowed command lines through sudo -n (conformance/reader.py)."""
    privilege = ["-p", "prep_iac.conformance.reader_plugin"] if reader else ["--sudo"]
    return [sys.executable, "-m", "pytest", str(suites), "-c", str(ini),
            "--rootdir", str(suites), "-p", "prep_iac.conformance.collector",
            "-p", "no:cacheprovider", "-q", "--tb=no", "--no-header", "-o", "addopts=",
            "--continue-on-collection-errors",
            f"--hosts=ssh://{address}", f"--ssh-config={ssh_config}", *privilege,
            f"--prep-inventory={inventory}", f"--prep-results={results}",
            f"--prep-host={host_name}"]


def unreachable(host: str, command: str, proc) -> list[CheckResult]:
    """No SSH, no proof: every requirement the suites check fails on this host, saying why."""
    reqs = sorted(suite_requirements())
    return [CheckResult(
        check="verify::conexion_ssh", requirements=reqs, host=host, status=NO_CUMPLE,
        title="Conexión SSH al servidor",
        detail="no se pudo entrar al servidor por SSH: ninguna comprobación interna se ejecutó",
        evidence=[Command(command, proc.returncode, clip((proc.stderr or "").strip(), 800))])]


def run_host(name: str, address: str, paths: dict, progress: Progress) -> list[CheckResult]:
    progress(name, "conectando")
    proc = sshconfig.open_master(paths["ssh_config"], address)
    if proc.returncode != 0:
        progress(name, "sin conexión SSH")
        return unreachable(name, f"ssh -F {paths['ssh_config']} {address} true", proc)
    results_file = paths["work"] / f"{name}.json"
    results_file.unlink(missing_ok=True)
    cmd = pytest_command(SUITES_DIR, address, paths["ssh_config"], paths["inventory"],
                         results_file, name, paths["ini"], reader=paths.get("reader", False))
    progress(name, "comprobando")
    try:
        run = children.run(cmd, capture_output=True, text=True, timeout=HOST_TIMEOUT_S,
                           stdin=subprocess.DEVNULL)
        output = run.stdout + run.stderr
    except subprocess.TimeoutExpired as exc:
        run, output = None, f"pytest no terminó en {HOST_TIMEOUT_S} s: {exc}"
    if not results_file.exists():
        reqs = sorted(suite_requirements())
        return [CheckResult(
            check="verify::suites", requirements=reqs, host=name, status=NO_CUMPLE,
            title="Las suites de comprobación se ejecutan",
            detail="pytest terminó sin resultados",
            evidence=[Command(" ".join(cmd), run.returncode if run else None,
                              clip(output, 1500))])]
    progress(name, "listo")
    return [CheckResult.from_json(r) for r in json.loads(results_file.read_text())]


def pentest_rows(inventory, paths, hosts: list[str]) -> list[CheckResult]:
    """The IV.3 rows of `prep-iac pentest`/`continuidad` reports, each filed under the
    checked difusor its target names."""
    from prep_iac.conformance.audit.run import find_difusor, normalize
    from prep_iac.pentest.run import load_rows

    def host_of(url: str) -> str:
        name, _ = find_difusor(inventory, normalize(url))
        if name not in hosts:
            raise PrepError(f"a --pentest-informe tested {url}, which is no difusor checked here",
                            "give the reports of a difusor of this inventory (--limit included)")
        return name

    return load_rows(paths, host_of)


def verify(inventory_path: str | Path, limit: str | None = None,
           waivers_path: str | Path | None = None, out_dir: str | Path | None = None,
           jobs: int = 10, progress: Progress = _quiet,
           evidence_dir: str | Path | None = None, strict: bool = True,
           report_key: Path | None = None, pentest_path: str | Path | None = None,
           reader_key: str | Path | None = None) -> tuple[dict, dict[str, Path]]:
    """Run the suites, judge the call's deadlines (deadlines.py: the evidence under
    `evidence_dir`, by default the current folder), write the report (signed with
    ``report_key``, a private key whose public half is a difusor's report_key); returns
    (report, written paths). `pentest_path`: `prep-iac pentest`/`continuidad` reports (one
    or several) whose CONV-IV.3 rows join the report, under their difusor. `reader_key`: the
    Institute's private key; the checks run as its read-only account."""
    inventory_path = Path(inventory_path).resolve()
    inventory = load_inventory(inventory_path)
    hosts = select_hosts(inventory, limit)
    signer = signer_for(report_key, {n: inventory.difusores[n] for n in hosts
                                     if n in inventory.difusores}) if report_key else None
    # Keys and pins stop here; a host that is down is the report's finding (run_host).
    preflight.check(inventory, hosts, warn=lambda line: progress(*line.split(": ", 1)))
    waivers = load_waivers(waivers_path, known_ids(), set(inventory.hosts()),
                           signers=list(inventory.iec.waiver_signers),
                           process=inventory.iec.process) if waivers_path else []
    out = Path(out_dir) if out_dir else Path("verificacion")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="prep-verify-") as tmp:
        work = Path(tmp)
        ini = work / "pytest.ini"
        ini.write_text("[pytest]\n")  # neither the caller's nor the repo's pytest settings
        paths = {"work": work, "ini": ini, "inventory": inventory_path,
                 "reader": bool(reader_key),
                 "ssh_config": sshconfig.write_ssh_config(inventory, inventory_path,
                                                          work / "ssh_config", reader_key)}
        addresses = {n: inventory.hosts()[n].address for n in hosts}
        try:
            with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(hosts)))) as pool:
                futures = {n: pool.submit(run_host, n, addresses[n], paths, progress)
                           for n in hosts}
                results = [r for n in hosts for r in futures[n].result()]
        finally:
            for address in addresses.values():
                sshconfig.close_master(paths["ssh_config"], address)
    meta = {"inventario": str(inventory_path), "inventario_nombre": inventory_path.stem,
            "segundos": round(time.monotonic() - started, 1),
            "roles": {n: ("difusor" if n in inventory.difusores else "publicador")
                      for n in hosts},
            "direcciones": {n: addresses[n] for n in hosts},
            "cuenta": READER_USER if reader_key else "administración"}
    results += pentest_rows(inventory, pentest_path, hosts)
    if signer:
        meta["firma"] = {"difusor": signer, "llave": inventory.difusores[signer].report_key}
    report, infra_clean = with_calendar(inventory, hosts, results, waivers, meta,
                                        deadlines.Folders.under(evidence_dir or ".",
                                                                verificacion=out),
                                        whole=not limit, strict=strict)
    paths = write_reports(report, out)
    if report_key:
        paths.update(sign_files(dict(paths), report_key))
    deadlines.record_verify_run(out, report["generado"], infra_clean, report["incumplidos"])
    return report, paths


def with_calendar(inventory, hosts: list[str], results: list[CheckResult], waivers, meta: dict,
                  folders: deadlines.Folders, *, whole: bool = True, strict: bool = True,
                  now: dt.datetime | None = None) -> tuple[dict, bool]:
    """The report with the calendar's rows, and whether the servers' own checks found no
    mandatory failure (then this run, if it checked every host, is the evidence that the
    infrastructure operates: CONV-I.5)."""
    now = now or dt.datetime.now(dt.UTC)
    # Not strict: evidence still owed on paper (I.4, I.8…) says nothing of the servers.
    servers = build_report("verify", hosts, copy.deepcopy(results), waivers, meta, now=now,
                           strict=False)
    infra_clean = whole and servers["exit_code"] == 0
    evidence = deadlines.gather(folders)
    if infra_clean:
        evidence.append(deadlines.Evidence("verificacion", now, "esta verificación"))
    decisions = deadlines.decide(inventory.iec.calendar, evidence, now)
    rows = deadlines.check_results(decisions, hosts)
    return (build_report("verify", hosts, results + rows, waivers, meta, now=now, strict=strict),
            infra_clean)
