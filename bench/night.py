"""Propagation delay across a night of 10 difusores: from a cut's production on the
controller to its activation on every difusor, as seen from outside (estado.json).

Aim (issue 9): p95 under 15 s in the lab. Runs a real drill without faults:
    python bench/night.py [--difusores 10] [--hasta 20:00] [--periodo 10s]
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AIM_P95_S = 15.0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--difusores", type=int, default=10)
    parser.add_argument("--hasta", default="20:00")
    parser.add_argument("--periodo", default="10s")
    parser.add_argument("--actas", type=int, default=4000)
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="bench-night-")) / "out"
    prep = Path(sys.executable).with_name("prep-iac")
    started = time.monotonic()
    proc = subprocess.run([str(prep), "simulacro", "--faults", "none", "--difusores",
                           str(args.difusores), "--hasta", args.hasta, "--periodo", args.periodo,
                           "--actas", str(args.actas), "--out", str(out)],
                          capture_output=True, text=True, check=False)
    results_file = out / "simulacro.json"
    if not results_file.exists():
        print(proc.stdout[-2000:], proc.stderr[-2000:], sep="\n")
        return 1
    results = json.loads(results_file.read_text())
    prop = results["propagation"]
    cuts = len(results["cuts"])
    print(f"{args.difusores} difusores, {cuts} cuts every {args.periodo}, "
          f"{prop['n']} deliveries measured, drill {time.monotonic() - started:.0f} s")
    print(f"propagation: median {prop['median_s']} s, p95 {prop['p95_s']} s, max {prop['max_s']} s")
    print(f"p95 / aim ({AIM_P95_S:.0f} s): {prop['p95_s'] / AIM_P95_S:.2f}")
    print(f"FIGURE night p95 propagation {args.difusores} difusores (s): {prop['p95_s']}")
    print(f"FIGURE night p95 / 15 s aim: {prop['p95_s'] / AIM_P95_S:.2f}")
    return 0 if prop["n"] else 1


if __name__ == "__main__":
    sys.exit(main())
