"""Benchmark of `prep-iac verify`: the full conformance suites over SSH against 1 and against
10 deployed lab difusores, in parallel.

    .venv/bin/python bench/verify.py [--sizes 1 10] [--name conf] [--subnet 10.86.0.0/24]
                                     [--no-deploy] [--keep]

Boots (or reuses) the lab with the largest size's difusores, deploys deploys/difusor.py on
them (skip with --no-deploy to time the suites on bare hosts; a re-booted lab rewrites its
inventory's window, so the watchdog check then reports that drift), then times a whole verify
(SSH multiplexing, one pytest per host, the report) for the first N difusores of each size.
Aims: one host under 20 s, ten in parallel under 60 s.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

AIMS_S = {1: 20.0, 10: 60.0}


def deploy(inventory: Path) -> None:
    cmd = [str(Path(sys.executable).with_name("prep-iac")), "deploy", "difusor", "-i",
           str(inventory), "-y"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600, check=False)
    if proc.returncode != 0:
        print((proc.stdout + proc.stderr)[-3000:], file=sys.stderr)
        print("deploy failed: timing the suites on what is there", file=sys.stderr)


def settle(lab) -> None:
    """Hosts finish booting before anything is timed: a boot is not a verify."""
    for name in lab.hosts:
        lab.run(name, "systemctl is-system-running --wait", timeout=300)


def timed_verify(inventory: Path, hosts: list[str], out: Path) -> tuple[float, dict]:
    from prep_iac.conformance.verify import verify

    started = time.monotonic()
    report, _ = verify(inventory, limit=",".join(hosts), out_dir=out,
                       waivers_path=REPO / "inventories" / "lab-waivers.yml")
    return time.monotonic() - started, report


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 10])
    ap.add_argument("--name", default=os.environ.get("PREP_LAB_NAME", "conf"))
    ap.add_argument("--subnet", default=os.environ.get("PREP_LAB_SUBNET", "10.86.0.0/24"))
    ap.add_argument("--no-deploy", action="store_true")
    ap.add_argument("--keep", action="store_true", help="leave the lab running afterwards")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("bench/verify.py needs root (it boots lab hosts)", file=sys.stderr)
        return 2

    from rich.console import Console
    from rich.table import Table

    from prep_iac.lab import Lab

    lab = Lab(name=args.name, subnet=args.subnet)
    lab.up(difusores=max(args.sizes), publishers=0)
    settle(lab)
    inventory = lab.inventory_path
    if not args.no_deploy:
        started = time.monotonic()
        deploy(inventory)
        print(f"deploy of {max(args.sizes)} difusores: {time.monotonic() - started:.0f} s")
    names = sorted((n for n in lab.hosts if n.startswith("difusor-")),
                   key=lambda n: int(n.split("-")[1]))
    rows, figures = [], []
    try:
        with tempfile.TemporaryDirectory(prefix="prep-bench-verify-") as tmp:
            for size in args.sizes:
                seconds, report = timed_verify(inventory, names[:size], Path(tmp) / str(size))
                checks = len(report["comprobaciones"])
                rows.append((f"{size} difusor(es)", seconds, checks, report["exit_code"],
                             AIMS_S.get(size)))
                figures.append((f"verify_{size}_hosts_s", f"{seconds:.1f}"))
    finally:
        if not args.keep:
            lab.destroy()  # nothing left behind; the next run deploys anew anyway

    table = Table(title="prep-iac verify")
    for col in ("hosts", "seconds", "checks", "exit", "aim"):
        table.add_column(col)
    for label, seconds, checks, code, aim in rows:
        verdict = "" if aim is None else (f"< {aim:.0f} s ok" if seconds < aim
                                          else f"< {aim:.0f} s MISSED")
        table.add_row(label, f"{seconds:.1f}", str(checks), str(code), verdict)
    Console().print(table)
    for key, value in figures:
        print(f"FIGURE {key}: {value}")
    missed = [s for _, s, _, _, aim in rows if aim is not None and s >= aim]
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
