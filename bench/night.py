"""Propagation delay across a night of N difusores, at one or several sizes: from a cut's
production on the controller to its activation on every difusor, as seen from outside
(estado.json).

Aim (issues 9 and 21): p95 at most 15 s at every size in the lab, and no missed cut (a good
cut some difusor was never seen serving). Runs a real drill without faults per size, one
after the other (each boots and tears down its own lab):
    python bench/night.py [--difusores 10 25 50] [--hasta 20:00] [--periodo 10s [30s 60s]]
One --periodo for every size, or one per size: the lab compresses a 10-minute period into
it, so every lab difusor's own work (a cut, the activator's sweep, the watchdog's passes)
costs this machine more the shorter it is (docs/simulacro.md, "Size"). Each size also
prints where the night's CPU went (the drill's `cpu`: difusores, publisher, the rest) and
the p95 of the cuts with and without a conformance run working on the difusores meanwhile:
in the lab both share this machine's cores. A night longer than the two runs (at 50
difusores every 60 s, --hasta 22:00) leaves periods between the opening and the closing run.
How many difusores the machine holds is checked by the drill before anything boots.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scaling import missed_deliveries

AIM_P95_S = 15.0
PROPAGATION_CHECK = "cada difusor sirvió cada corte dentro de un periodo"


def one_size(n: int, periodo: str, args) -> dict | None:
    out = Path(tempfile.mkdtemp(prefix=f"bench-night-{n}-")) / "out"
    prep = Path(sys.executable).with_name("prep-iac")
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    proc = subprocess.run([str(prep), "simulacro", "--faults", "none", "--difusores", str(n),
                           "--hasta", args.hasta, "--periodo", periodo,
                           "--actas", str(args.actas), "--out", str(out)],
                          capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    results_file = out / "simulacro.json"
    if not results_file.exists():
        print(f"{n} difusores: the drill wrote no results (rc {proc.returncode})")
        print(proc.stdout[-2000:], proc.stderr[-2000:], sep="\n")
        return None
    results = json.loads(results_file.read_text())
    prop = results["propagation"]
    missed = missed_deliveries(results["cuts"])
    check = next((c for c in results["checks"] if c["name"] == PROPAGATION_CHECK), {})
    failed = [c["name"] for c in results["checks"] if not c["ok"]]
    row = {"n": n, "period": periodo, "cuts": len(results["cuts"]), "prop": prop, "missed": missed,
           "within_period": check.get("ok"), "failed_checks": failed, "seconds": seconds,
           "load": (load_before, os.getloadavg()[0]), "cpu": results.get("cpu") or {},
           "out": str(out)}
    print(f"{n} difusores: {row['cuts']} cuts every {periodo}, {prop['n']} deliveries "
          f"measured, drill {seconds:.0f} s, load {load_before:.1f} -> {row['load'][1]:.1f}")
    if prop["n"]:
        print(f"  propagation: median {prop['median_s']} s, p95 {prop['p95_s']} s, "
              f"max {prop['max_s']} s")
    for key, label in (("without_checks", "cuts with no conformance run working"),
                       ("during_checks", "cuts while a conformance run worked")):
        part = prop.get(key) or {}
        if part.get("n"):
            print(f"    {label}: median {part['median_s']} s, p95 {part['p95_s']} s, "
                  f"max {part['max_s']} s ({part['n']} deliveries)")
    print(f"  missed cuts: {len(missed)}" + (f" ({', '.join(missed[:5])})" if missed else ""))
    staged = [cut.get("stages") or {} for cut in results["cuts"]]
    medians = {key: statistics.median(values) for key in ("handed_over_s", "first_push_s",
                                                          "push_median_s", "push_max_s")
               if (values := [st[key] for st in staged if st.get(key) is not None])}
    if medians:
        print("  where a cut's time went (median over the cuts, s): "
              + ", ".join(f"{k[:-2].replace('_', ' ')} {v:.2f}" for k, v in medians.items()))
    c = row["cpu"]
    if c:
        print(f"  night's CPU (cores): machine {c['machine_cores']}, difusores "
              f"{c['difusores_cores']} ({c['per_difusor_cores']} each), publisher "
              f"{c['publisher_cores']}, the rest {c['rest_cores']}")
        for part in ("difusores", "publisher"):
            units = c.get(f"{part}_units_cores") or {}
            if units:
                print(f"    {part} by unit (cores): "
                      + ", ".join(f"{u} {v}" for u, v in list(units.items())[:6]))
    print(f"  drill checks failed: {', '.join(failed) or 'none'}  (results: {out})",
          flush=True)
    return row


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--difusores", type=int, nargs="+", default=[10])
    parser.add_argument("--hasta", default="20:00")
    parser.add_argument("--periodo", nargs="+", default=["10s"],
                        help="one for every size, or one per size")
    parser.add_argument("--actas", type=int, default=4000)
    args = parser.parse_args()
    if len(args.periodo) not in (1, len(args.difusores)):
        parser.error("give one --periodo, or one per --difusores size")
    periods = args.periodo * len(args.difusores) if len(args.periodo) == 1 else args.periodo
    rows = [one_size(n, p, args) for n, p in zip(args.difusores, periods)]
    print()
    print(f"{'difusores':>9} {'period':>6} {'p95 s':>6} {'max s':>6} {'missed':>6} {'drill s':>7} "
          f"{'load':>9}  verdict (aim p95 <= {AIM_P95_S:.0f} s, none missed)")
    measured = True
    for n, row in zip(args.difusores, rows):
        if row is None or not row["prop"]["n"]:
            dashes = " ".join(f"{'–':>{w}}" for w in (6, 6, 6, 6, 7, 9))
            print(f"{n:>9} {dashes}  no measure")
            measured = False
            continue
        p95 = row["prop"]["p95_s"]
        meets = p95 <= AIM_P95_S and not row["missed"]
        load = f"{row['load'][0]:.1f}-{row['load'][1]:.1f}"
        print(f"{n:>9} {row['period']:>6} {p95:>6.2f} {row['prop']['max_s']:>6.2f} "
              f"{len(row['missed']):>6} {row['seconds']:>7.0f} {load:>9}  "
              f"{'meets' if meets else 'misses'}")
    for n, row in zip(args.difusores, rows):
        if row is None or not row["prop"]["n"]:
            continue
        size = f"{n} difusores, {row['period']} periods"
        print(f"FIGURE night p95 propagation {size} (s): {row['prop']['p95_s']}")
        print(f"FIGURE night p95 / 15 s aim {size}: {row['prop']['p95_s'] / AIM_P95_S:.2f}")
        for key, label in (("without_checks", "with no conformance run"),
                           ("during_checks", "during the conformance runs")):
            if (row["prop"].get(key) or {}).get("n"):
                print(f"FIGURE night p95 propagation {size}, cuts {label} (s): "
                      f"{row['prop'][key]['p95_s']} ({row['prop'][key]['n']} deliveries)")
        print(f"FIGURE night missed cuts {size}: {len(row['missed'])}")
        print(f"FIGURE night drill {size} (s): {row['seconds']:.0f}")
        for part in ("difusores", "publisher", "rest"):
            if row["cpu"].get(f"{part}_cores") is not None:
                print(f"FIGURE night CPU {part} {size} (cores): {row['cpu'][f'{part}_cores']}")
    return 0 if measured else 1  # an aim missed shows in the table, not as a failure


if __name__ == "__main__":
    sys.exit(main())
