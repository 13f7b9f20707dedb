"""Benchmark of the local lab: how fast hosts boot to SSH, and what an idle host costs.

    .venv/bin/python bench/lab_boot.py [--sizes 1 5 10] [--name bench] [--subnet 10.78.0.0/24]
                                       [--build]

For each size N (N difusores) it times `Lab.up` to "systemd running and sshd answering" in
three situations:
  cold   no extracted base (a private, empty base directory): extract the cached tarball,
         give the new hosts their identity, boot (with --build, also a fresh mmdebstrap of
         the tarball itself, once)
  new    warm base, new hosts (identity + boot): the aim's "from a warm cache"
  warm   `up` after `down`: existing hosts, boot only
then reads each host's memory (its cgroup, less inactive page cache) after 10 s idle.
Aims: 10 hosts warm cache -> SSH in under 15 s; an idle host under 60 MiB.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

AIM_BOOT_S = 15.0
AIM_MEM_MIB = 60.0


def timed_up(lab, n: int) -> float:
    started = time.monotonic()
    lab.up(difusores=n, publishers=0)
    return time.monotonic() - started


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 5, 10])
    ap.add_argument("--name", default=os.environ.get("PREP_BENCH_LAB_NAME", "bench"))
    ap.add_argument("--subnet", default=os.environ.get("PREP_BENCH_LAB_SUBNET", "10.78.0.0/24"))
    ap.add_argument("--release", default="bookworm")
    ap.add_argument("--build", action="store_true", help="also time a fresh mmdebstrap")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("bench/lab_boot.py needs root (it boots lab hosts)", file=sys.stderr)
        return 2

    scratch = Path(tempfile.mkdtemp(prefix="prep-lab-bench-", dir="/var/tmp"))
    private_base = scratch / "base"
    os.environ["PREP_LAB_BASE_ROOT"] = str(private_base)  # read when prep_iac.lab loads
    if args.build:
        os.environ["PREP_LAB_CACHE_DIR"] = str(scratch / "cache")

    from rich.console import Console
    from rich.table import Table

    from prep_iac.lab import Lab, base

    console = Console()
    rows, memory = [], []
    build_s = None
    try:
        if args.build:
            started = time.monotonic()
            base.build_tarball(args.release)
            build_s = time.monotonic() - started
        for n in args.sizes:
            shutil.rmtree(private_base, ignore_errors=True)
            lab = Lab.fresh(args.name, args.subnet, args.release)
            cold = timed_up(lab, n)
            lab.down()
            warm = timed_up(lab, n)
            lab.destroy()
            lab = Lab.fresh(args.name, args.subnet, args.release)
            new = timed_up(lab, n)
            time.sleep(10)  # idle: let boot-time jobs finish
            mem = [lab.memory(h) or 0 for h in lab.hosts]
            memory += mem
            lab.destroy()
            rows.append((n, cold, new, warm, max(mem) / 2**20, sum(mem) / len(mem) / 2**20))
    finally:
        leftover = Lab(name=args.name)
        if leftover.exists:
            leftover.destroy()
        shutil.rmtree(scratch, ignore_errors=True)

    table = Table(title=f"lab boot to SSH ({args.release}, {os.cpu_count()} cores)")
    for col in ("hosts", "cold s", "new s", "warm s", "max MiB/host", "mean MiB/host"):
        table.add_column(col, justify="right")
    for n, cold, new, warm, mx, mean in rows:
        table.add_row(str(n), f"{cold:.2f}", f"{new:.2f}", f"{warm:.2f}", f"{mx:.1f}",
                      f"{mean:.1f}")
    console.print(table)
    if build_s is not None:
        print(f"FIGURE base build (mmdebstrap, {args.release}): {build_s:.1f} s")
    largest = max(rows, key=lambda r: r[0])
    worst_mem = max(memory) / 2**20
    for n, cold, new, warm, _, _ in rows:
        print(f"FIGURE {n} hosts to SSH (cold / new / warm): {cold:.2f} / {new:.2f} / {warm:.2f} s")
    print(f"FIGURE {largest[0]} hosts, warm cache, to SSH vs aim {AIM_BOOT_S:.0f} s: "
          f"{largest[2]:.2f} s (ratio {largest[2] / AIM_BOOT_S:.2f})")
    print(f"FIGURE idle host memory vs aim {AIM_MEM_MIB:.0f} MiB: max {worst_mem:.1f} MiB "
          f"(ratio {worst_mem / AIM_MEM_MIB:.2f})")
    ok = largest[2] < AIM_BOOT_S and worst_mem < AIM_MEM_MIB
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
