"""Benchmark of `prep-iac memoria report`, end to end, against GoAccess on the same lines.

    .venv/bin/python bench/memoria.py [--lines 1000000] [--rounds 3] [--keep DIR]

Generates a deterministic election-night access log (the difusor's `prep` format: nginx
combined + rt= + host=) as a node's logs are found: the night before 00:00 rotated and gzipped
(prep.access.log.1.gz, with a line cut short at the rotation), the rest in prep.access.log
(ending with two garbage lines). Then, in alternating rounds of the same run:

- GoAccess (Debian's C program) on the same lines: `zcat -f` of both files piped into it, the
  usual way to give it rotated logs (Debian's build reads no .gz itself), JSON output;
- the real command as a user runs it: `prep-iac memoria report --logs DIR --out DIR` in a new
  process (interpreter start, imports, parse, aggregation, figures, report.json, report.html,
  report.pdf), from its start to its exit.

Each tool's best round (wall clock) is kept, and its CPU time (user + system, children
included) is printed beside it: on a shared machine the CPU ratio says what the wall ratio
cannot. The command's hidden --timings gives the per-phase breakdown. Aim: the whole command
>= 20x GoAccess. Hits, malformed lines, visitors and bytes must agree with GoAccess.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from itertools import pairwise
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MUNICIPIOS = [f"{i:03d}" for i in range(1, 39)]  # Coahuila has 38 municipios
BROWSERS = [
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/91.0.4472.77 Safari/537.36"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 14_6 like Mac OS X) AppleWebKit/605.1.15 "
     "(KHTML, like Gecko) Version/14.1.1 Mobile/15E148 Safari/604.1"),
    ("Mozilla/5.0 (Linux; Android 11; SM-A515F) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/91.0.4472.77 Mobile Safari/537.36"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/14.1 Safari/605.1.15"),
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:89.0) Gecko/20100101 Firefox/89.0",
]
BOTS = [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "curl/7.68.0",
    "python-requests/2.25.1",
]
REFERERS = ["-", "https://www.example.mx/", "https://www.google.com/", "https://t.co/abc",
            "https://www.facebook.com/", "https://www.iec.org.mx/"]


def _cut_id(t: datetime) -> str:
    return t.strftime("%Y%m%d_%H%M") + "_PREP_AYUN_COAH"


def generate(path: Path, lines: int, seed: int = 2021) -> Path:
    """Write `lines` log lines of an election night (18:00 on 6 June to 20:00 on 7 June, -0500).

    Traffic rises after 20:00 (first cut), peaks 21:00-00:00 and decays. Visitors come back
    (a few are heavy, most open a page or two); each opens pages, polls estado.json, loads
    assets and actas. Sizes depend on the file (and on the cut, for data). Some 304s, 404s,
    429s, 403s, 5xx, robots, and two garbage lines.
    """
    rnd = random.Random(seed)
    tz = timezone(timedelta(hours=-5))
    start = datetime(2021, 6, 6, 18, 0, tzinfo=tz)
    # Requests per minute, relative: (hours after 18:00 on 6 June, weight), linear in between.
    curve = [(0, 0.05), (2, 0.3), (2.5, 2.6), (4, 3.0), (6, 2.2), (8, 1.0), (10, 0.3),
             (13, 0.3), (15, 0.8), (20, 0.7), (26, 0.5)]
    weights = []
    for m in range(26 * 60):
        h = m / 60
        (h0, w0), (h1, w1) = next((a, b) for a, b in pairwise(curve) if a[0] <= h <= b[0])
        weights.append(w0 + (w1 - w0) * (h - h0) / (h1 - h0))
    total_w = sum(weights)
    per_minute = [int(lines * w / total_w) for w in weights]
    per_minute[-1] += lines - sum(per_minute)
    clients = [(".".join(str(rnd.randint(1, 223 if i == 0 else 254)) for i in range(4)),
                rnd.choice(BROWSERS)) for _ in range(150_000)]
    clients += [(f"66.249.{rnd.randint(64, 95)}.{rnd.randint(1, 254)}", rnd.choice(BOTS))
                for _ in range(300)]
    pages = (["/", "/index.html", "/estado.json", "/estado.json", "/estado.json",
              "/datos/ayuntamientos.json", "/datos/resumen.json"]
             + [f"/ayuntamientos/{m}.html" for m in MUNICIPIOS]
             + [f"/datos/ayuntamientos/{m}.json" for m in MUNICIPIOS])
    assets = ["/css/prep.css", "/js/prep.js", "/favicon.ico", "/fonts/roboto.woff2"]
    size_of = {p: rnd.randrange(300, 40_000) for p in pages + assets}
    buf = []
    with open(path, "w", encoding="utf-8") as out:
        for m, n in enumerate(per_minute):
            t0 = start + timedelta(minutes=m)
            cut = t0 - timedelta(minutes=t0.minute % 10)
            cut_n = m // 10
            for _ in range(n):
                t = t0 + timedelta(seconds=rnd.randrange(60))
                addr, ua = clients[int(len(clients) * rnd.random() ** 2)]
                r = rnd.random()
                if r < 0.45:
                    p = rnd.choice(pages)
                    size = size_of[p] + (cut_n * 37 if p.endswith(".json") else 0)
                elif r < 0.75:
                    p = rnd.choice(assets)
                    size = size_of[p]
                elif r < 0.97:
                    n_acta = rnd.randrange(1, 4000)
                    p = f"/actas/{n_acta:05d}.jpg"
                    size = 40_000 + n_acta * 7
                else:
                    ext = "zip" if r < 0.99 else "csv"
                    p = f"/descargas/{_cut_id(cut)}.{ext}"
                    size = 2_000_000 + cut_n * 1000
                q = rnd.random()
                status = (200 if q < 0.90 else 304 if q < 0.95 else 404 if q < 0.97
                          else 429 if q < 0.985 else 403 if q < 0.995 else 502)
                if status != 200:
                    size = 0 if status == 304 else 150
                rt = rnd.expovariate(40.0)
                ts = (f"{t.day:02d}/{MONTHS[t.month - 1]}/{t.year}:{t.hour:02d}:{t.minute:02d}:"
                      f"{t.second:02d} -0500")
                buf.append(f'{addr} - - [{ts}] "GET {p} HTTP/1.1" {status} {size} '
                           f'"{rnd.choice(REFERERS)}" "{ua}" rt={rt:.3f} host=prep.example.mx\n')
                if len(buf) >= 10000:
                    out.write("".join(buf))
                    buf.clear()
        # Two garbage lines, as real logs have (a truncated line, a TLS hello on port 80).
        buf.append('203.0.113.9 - - [06/Jun/2021:23:59:59 -0500] "GET /trunc\n')
        buf.append("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n")
        out.write("".join(buf))
    return path


ROTATED = "prep.access.log.1.gz"
LIVE = "prep.access.log"
# nginx reloaded by logrotate mid-write: the rotated file's last line is cut short.
CUT_LINE = '198.51.100.7 - - [06/Jun/2021:23:59:59 -0500] "GET /ayuntamientos/0\n'


def split_rotated(log: Path, folder: Path) -> int:
    """The generated night as a node's logs: up to 00:00 gzipped as the rotated file, the rest
    live. Returns how many lines there are in all."""
    data = log.read_bytes()
    cut = data.find(b"[07/Jun/2021:")
    cut = data.rfind(b"\n", 0, cut) + 1 if cut > 0 else len(data) // 2
    folder.mkdir(parents=True, exist_ok=True)
    with gzip.open(folder / ROTATED, "wb", compresslevel=6) as f:  # logrotate's gzip -6
        f.write(data[:cut] + CUT_LINE.encode())
    (folder / LIVE).write_bytes(data[cut:])
    return data.count(b"\n") + 1


GOACCESS_FORMAT = '%h %^ %e [%d:%t %^] "%r" %s %b "%R" "%u" rt=%T host=%v'


def _wait(proc: subprocess.Popen) -> float:
    """CPU seconds (user + system) of a finished child and the children it waited for."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime


def run_goaccess(logs: Path, out_json: Path) -> tuple[float, float, dict]:
    """GoAccess on the same lines, same format (rt= as its %T): wall s, CPU s, its totals."""
    cmd = ["goaccess", "-", f"--log-format={GOACCESS_FORMAT}", "--date-format=%d/%b/%Y",
           "--time-format=%T", "--no-global-config", "--no-progress",
           # GoAccess leaves 4xx answers out of unique visitors unless told; we count every
           # visitor who reached the server (a 429'd user did consult the results).
           "--4xx-to-unique-count", "-o", str(out_json)]
    t = time.perf_counter()
    cat = subprocess.Popen(["zcat", "-f", str(logs / ROTATED), str(logs / LIVE)],
                           stdout=subprocess.PIPE)
    ga = subprocess.Popen(cmd, stdin=cat.stdout, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    cat.stdout.close()
    cpu = _wait(ga) + _wait(cat)
    elapsed = time.perf_counter() - t
    if ga.returncode or cat.returncode:
        raise SystemExit(f"goaccess failed (rc {ga.returncode}, zcat rc {cat.returncode})")
    return elapsed, cpu, json.loads(out_json.read_text())["general"]


def prep_iac_command() -> str:
    beside = Path(sys.executable).parent / "prep-iac"  # the venv's console script
    found = str(beside) if beside.exists() else shutil.which("prep-iac")
    if not found:
        raise SystemExit("prep-iac is not installed (./dev bootstrap)")
    return found


def run_report(logs: Path, out: Path, pdf: bool = True) -> tuple[float, float, dict]:
    """The whole command as a user runs it, in a new process: wall s, CPU s, and each
    phase's (wall s, CPU s of the process)."""
    marks = out.with_name(out.name + ".timings.json")
    cmd = [prep_iac_command(), "memoria", "report", "--logs", str(logs), "--out", str(out),
           "--rate-limit", "50", "--link-mbps", "100", "--timings", str(marks)]
    if not pdf:
        cmd.append("--no-pdf")
    shutil.rmtree(out, ignore_errors=True)
    t0, t = time.time(), time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    err = proc.stderr.read()
    cpu = _wait(proc)
    elapsed = time.perf_counter() - t
    if proc.returncode:
        raise SystemExit(f"prep-iac memoria report failed (rc {proc.returncode}):\n"
                         + err.decode(errors="replace")[-2000:])
    stamps = json.loads(marks.read_text())
    phases, last, last_cpu = {}, t0, 0.0
    for name, (at, at_cpu) in stamps.items():
        phases[name] = (at - last, at_cpu - last_cpu)
        last, last_cpu = at, at_cpu
    phases["exit"] = (t0 + elapsed - last, cpu - last_cpu)
    return elapsed, cpu, phases


PHASES = [  # name in --timings -> what it covers
    ("started", "interpreter, prep_iac.cli, click"),
    ("imports", "polars, rich, the report's modules (WeasyPrint's starts on a thread)"),
    ("parse", "read and parse the logs (gzip included)"),
    ("aggregate", "series, totals, tops, incidents, report.json"),
    ("figures", "the report's figures"),
    ("html", "report.html"),
    ("pdf", "report.pdf"),
    ("done", "summary printed"),
    ("exit", "interpreter teardown"),
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=2021)
    ap.add_argument("--keep", type=Path, help="keep the generated logs and outputs here")
    ap.add_argument("--rounds", type=int, default=3,
                    help="run both N times, alternating; each one's best round is kept")
    args = ap.parse_args()
    for tool in ("goaccess", "zcat"):
        if not shutil.which(tool):
            print(f"{tool} is not installed (./dev bootstrap)", file=sys.stderr)
            return 2
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-memoria-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        logs = work / "logs"
        t = time.perf_counter()
        generate(work / "night.log", args.lines, args.seed)
        n = split_rotated(work / "night.log", logs)
        (work / "night.log").unlink()
        size = sum(p.stat().st_size for p in logs.iterdir())
        print(f"generated {n:,} lines in {logs}: {ROTATED} + {LIVE}, {size / 1e6:,.0f} MB on "
              f"disk, in {time.perf_counter() - t:.1f} s")
        for p in logs.iterdir():  # warm the page cache for both tools alike
            p.read_bytes()
        best = {"goaccess": None, "prep-iac": None, "prep-iac --no-pdf": None}
        for r in range(args.rounds):
            runs = {"goaccess": lambda: run_goaccess(logs, work / "goaccess.json"),
                    "prep-iac": lambda: run_report(logs, work / "report"),
                    "prep-iac --no-pdf": lambda: run_report(logs, work / "report-nopdf", False)}
            line = []
            for name, run in runs.items():
                load = os.getloadavg()[0]
                result = run()
                if best[name] is None or result[0] < best[name][0]:
                    best[name] = result
                line.append(f"{name} {result[0]:.2f} s ({result[1]:.2f} s CPU, load {load:.1f})")
            print(f"round {r + 1}: " + ", ".join(line), flush=True)
        ga_s, ga_cpu, ga = best["goaccess"]
        rep_s, rep_cpu, phases = best["prep-iac"]
        np_s, np_cpu, _ = best["prep-iac --no-pdf"]
        print(f"\nbest of {args.rounds} on {os.cpu_count()} cpus "
              f"(1-min load now {os.getloadavg()[0]:.1f}):")
        print(f"  {'':24}{'wall s':>8}{'CPU s':>8}{'lines/s':>12}{'x GoAccess':>12}")
        for name, (s, cpu, *_rest) in best.items():
            print(f"  {name:24}{s:8.2f}{cpu:8.2f}{n / s:12,.0f}{ga_s / s:11.1f}x")
        print("\nwhere the command's time goes (its best round; CPU: both cores' seconds):")
        print(f"  {'':10}{'wall s':>7}{'CPU s':>7}")
        for name, what in PHASES:
            if name in phases:
                print(f"  {name:10}{phases[name][0]:7.2f}{phases[name][1]:7.2f}  {what}")
        data = json.loads((work / "report" / "report.json").read_text())
        t = data["window"]["totals"]
        rows = [
            ("hits (valid requests)", ga["valid_requests"], t["hits"]),
            ("failed / malformed lines", ga["failed_requests"], data["input"]["malformed"]),
            ("unique visitors (ip+date+agent)", ga["unique_visitors"], t["visitors_daily_sum"]),
            ("bandwidth (bytes)", ga["bandwidth"], t["bytes"]),
        ]
        print(f"\n{'':34}{'goaccess':>18}{'prep-iac':>18}")
        ok = True
        for name, a, b in rows:
            same = a == b
            ok &= same
            print(f"{name:34}{a:>18,}{b:>18,}  {'agree' if same else 'DIFFER'}")
        print(f"also: {t['visitors']:,} distinct visitors over the whole night (address + agent, "
              "not split by day: the report's headline number)")
        if not ok:
            print("definitions differ where marked: see docs/memoria.md (GoAccess comparison)")
        breakdown = " / ".join(f"{name} {phases[name][0]:.2f}" for name, _ in PHASES
                               if name in phases)
        print(f"FIGURE memoria report end to end / GoAccess, same {n:,} lines: "
              f"{ga_s / rep_s:.1f}x ({rep_s:.2f} s / {ga_s:.1f} s; aim >= 20x)")
        print(f"FIGURE same, CPU seconds: {ga_cpu / rep_cpu:.1f}x "
              f"({rep_cpu:.2f} / {ga_cpu:.1f})")
        print(f"FIGURE same, --no-pdf: {ga_s / np_s:.1f}x ({np_s:.2f} s; CPU "
              f"{ga_cpu / np_cpu:.1f}x)")
        print(f"FIGURE phases of the command (wall s): {breakdown}")
        print(f"FIGURE hits, malformed, visitors, bytes agree with GoAccess: "
              f"{'yes' if ok else 'no'}")
        return 0
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
