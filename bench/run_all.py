"""Run the benchmarks under bench/ and rewrite bench/README.md with their latest figures.

    ./dev bench                 every script, in ORDER
    ./dev bench deploy.py ...   only those; the others keep their last figures
    ./dev bench "deploy.py --sizes 1 10"   a script with its own arguments (kept beside
                                the figures, so the table says what was run)

Each bench script prints its own table and ends with lines `FIGURE name: value` that this
runner collects into bench/figures.json (per script: when, how long, the machine's load
before and after, status, figures); the README table is made from that file. Speed targets
live here, as ratios against a baseline measured in the same run — never in timed tests.
"""

import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIGURES = HERE / "figures.json"
ORDER = ["corte.py", "nacional.py", "memoria.py", "lab_boot.py", "web.py", "waf.py", "publish.py",
         "verify.py", "deploy.py", "night.py"]


def run_one(script: Path, args: list[str]) -> dict:
    print(f"== {script.name} {' '.join(args)}", flush=True)
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-u", str(script), *args], capture_output=True,
                          text=True, check=False)
    print(proc.stdout, end="")
    if proc.returncode:
        print(proc.stderr[-3000:], end="", file=sys.stderr)
    figures = [line.removeprefix("FIGURE ").split(": ", 1)
               for line in proc.stdout.splitlines() if line.startswith("FIGURE ")]
    return {"status": "ok" if proc.returncode == 0 else f"failed (rc {proc.returncode})",
            "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "seconds": round(time.monotonic() - started),
            "load": [round(load_before, 1), round(os.getloadavg()[0], 1)],
            "args": args,
            "figures": figures}


def main(specs: list[str]) -> int:
    runs = [shlex.split(spec) for spec in specs] or [[name] for name in ORDER]
    unknown = [run[0] for run in runs if not (HERE / run[0]).is_file()]
    if unknown:
        print(f"no such bench: {', '.join(unknown)} (have: {', '.join(ORDER)})", file=sys.stderr)
        return 2
    known = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
    failed = 0
    for name, *args in runs:
        known[name] = run_one(HERE / name, args)
        failed += known[name]["status"] != "ok"
        FIGURES.write_text(json.dumps(known, indent=1, ensure_ascii=False) + "\n")
        write_readme(known)  # after each script: a long run interrupted keeps what it has
    return 1 if failed else 0


def write_readme(known: dict) -> None:
    cores = os.cpu_count()
    lines = ["# Benchmarks", "",
             "Made by `./dev bench` (bench/run_all.py) from bench/figures.json. Each figure is",
             "a ratio or a measure against a baseline taken in the same run; the aims are in",
             f"each script's docstring. Machine: {cores} cores. *load* is the 1-minute load",
             "average before and after the script: above the core count, other work shared",
             "the machine, and absolute times say less than the ratios.", "",
             "| bench | when | load | figure | value |", "|---|---|---|---|---|"]
    for name in ORDER + sorted(set(known) - set(ORDER)):
        run = known.get(name)
        if run is None:
            continue
        when = f"{run['when']} ({run['seconds']} s)"
        if run.get("args"):
            when += f" `{' '.join(run['args'])}`"
        load = "–".join(str(x) for x in run["load"])
        if not run["figures"]:
            lines.append(f"| {name} | {when} | {load} | {run['status']} | |")
        for key, value in run["figures"]:
            lines.append(f"| {name} | {when} | {load} | {key} | {value} |")
            when = load = ""
    (HERE / "README.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
