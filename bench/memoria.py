"""Benchmark of `prep-iac memoria report`'s parser against GoAccess on the same log.

    .venv/bin/python bench/memoria.py [--lines 2000000] [--keep DIR]

Generates a deterministic election-night access log (the difusor's `prep` format: nginx
combined + rt= + host=), runs GoAccess (Debian's C program) and our parser on it in the same
run, prints lines/s for each, the ratio, and whether hits and visitors agree.
"""

from __future__ import annotations

import argparse
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


GOACCESS_FORMAT = '%h %^ %e [%d:%t %^] "%r" %s %b "%R" "%u" rt=%T host=%v'


def run_goaccess(log: Path, out_json: Path) -> tuple[float, dict]:
    """GoAccess on the same file with the same format (rt= as its %T), JSON output."""
    cmd = ["goaccess", str(log), f"--log-format={GOACCESS_FORMAT}", "--date-format=%d/%b/%Y",
           "--time-format=%T", "--no-global-config", "--no-progress",
           # GoAccess leaves 4xx answers out of unique visitors unless told; we count every
           # visitor who reached the server (a 429'd user did consult the results).
           "--4xx-to-unique-count", "-o", str(out_json)]
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - t
    return elapsed, json.loads(out_json.read_text())["general"]


def run_ours(log: Path) -> tuple[float, dict, object]:
    """Our parser plus the report's aggregation (everything report.json needs)."""
    from zoneinfo import ZoneInfo

    from prep_iac.memoria.aggregate import coverage, summarize
    from prep_iac.memoria.parse import parse_logs

    t = time.perf_counter()
    parsed = parse_logs([log])
    start, end = coverage(parsed)
    summary = summarize(parsed, ZoneInfo("America/Monterrey"), start, end)
    return time.perf_counter() - t, summary, parsed


def run_report(log: Path, out: Path) -> float:
    """The whole command, plots and PDF included, as a user runs it."""
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "from prep_iac.cli import main; main()", "memoria", "report",
                    "--logs",
                    str(log), "--out", str(out), "--rate-limit", "50", "--link-mbps", "100"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=2_000_000)
    ap.add_argument("--seed", type=int, default=2021)
    ap.add_argument("--log", type=Path, help="use this log instead of generating one")
    ap.add_argument("--keep", type=Path, help="keep the generated log and outputs here")
    ap.add_argument("--no-report", action="store_true", help="skip timing the full command")
    ap.add_argument("--rounds", type=int, default=1,
                    help="run both tools N times, alternating, and keep each one's best time "
                         "(fairer on a shared, busy machine)")
    args = ap.parse_args()
    if not shutil.which("goaccess"):
        print("goaccess is not installed (apt-get install goaccess)", file=sys.stderr)
        return 2
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-memoria-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        log = args.log
        if log is None:
            log = work / "prep.access.log"
            t = time.perf_counter()
            generate(log, args.lines, args.seed)
            print(f"generated {args.lines:,} lines ({log.stat().st_size / 1e6:,.0f} MB) "
                  f"in {time.perf_counter() - t:.1f} s")
        with open(log, "rb") as f:  # warm the page cache for both tools alike
            while f.read(1 << 24):
                pass
        ga_s = our_s = float("inf")
        for r in range(args.rounds):
            t, ga = run_goaccess(log, work / "goaccess.json")
            ga_s = min(ga_s, t)
            load_ga = os.getloadavg()[0]
            t, ours, parsed = run_ours(log)
            our_s = min(our_s, t)
            print(f"round {r + 1}: goaccess {ga_s:.2f} s, prep-iac {our_s:.2f} s (best so far); "
                  f"1-min load after each: {load_ga:.1f}, {os.getloadavg()[0]:.1f} "
                  f"on {os.cpu_count()} cpus")
        n = parsed.lines
        print(f"goaccess {ga_s:7.2f} s  {n / ga_s:12,.0f} lines/s")
        print(f"prep-iac {our_s:7.2f} s  {n / our_s:12,.0f} lines/s   (parse + aggregation)")
        print(f"ratio    {ga_s / our_s:7.1f}x  (aim: 10x)")
        if not args.no_report:
            rep_s = run_report(log, work / "report")
            print(f"full `prep-iac memoria report` (plots, HTML, PDF): {rep_s:.2f} s, "
                  f"{n / rep_s:,.0f} lines/s, {ga_s / rep_s:.1f}x")
        t = ours["totals"]
        rows = [
            ("hits (valid requests)", ga["valid_requests"], t["hits"]),
            ("failed / malformed lines", ga["failed_requests"], parsed.malformed),
            ("unique visitors (ip+date+agent)", ga["unique_visitors"], t["visitors_daily_sum"]),
            ("bandwidth (bytes)", ga["bandwidth"], t["bytes"]),
        ]
        print(f"{'':34}{'goaccess':>18}{'prep-iac':>18}")
        ok = True
        for name, a, b in rows:
            same = a == b
            ok &= same
            print(f"{name:34}{a:>18,}{b:>18,}  {'agree' if same else 'DIFFER'}")
        print(f"also: {t['visitors']:,} distinct visitors over the whole night (address + agent, "
              "not split by day: the report's headline number)")
        if not ok:
            print("definitions differ where marked: see docs/memoria.md (GoAccess comparison)")
        print(f"FIGURE lines/s prep-iac / GoAccess, same log: {ga_s / our_s:.1f}x "
              f"({n / our_s:,.0f} / {n / ga_s:,.0f}; aim >= 10x)")
        if not args.no_report:
            print(f"FIGURE full memoria report / GoAccess: {ga_s / rep_s:.1f}x ({rep_s:.1f} s)")
        print(f"FIGURE hits, visitors, bytes agree with GoAccess: {'yes' if ok else 'no'}")
        return 0
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
