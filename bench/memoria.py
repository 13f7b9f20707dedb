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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MUNICIPIOS = [f"{i:03d}" for i in range(1, 39)]  # Coahuila has 38 municipios
BROWSERS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/91.0.4472.77 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 14_6 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/14.1.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 11; SM-A515F) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/91.0.4472.77 Mobile Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/14.1 Safari/605.1.15",
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

    Traffic rises after 20:00 (first cut), peaks 21:00-00:00 and decays; each visitor opens
    pages, polls estado.json, loads assets and actas. Some 429s, 403s, 5xx and bots.
    """
    rnd = random.Random(seed)
    tz = timezone(timedelta(hours=-5))
    start = datetime(2021, 6, 6, 18, 0, tzinfo=tz)
    span = 26 * 3600
    # Weight of each minute: a night curve, built once.
    weights = []
    for m in range(span // 60):
        h = 18 + m / 60
        w = 0.05 if h < 20 else (3.0 if h < 24 else (1.2 if h < 26 else (0.3 if h < 32 else 0.6)))
        weights.append(w)
    total_w = sum(weights)
    per_minute = [int(lines * w / total_w) for w in weights]
    per_minute[-1] += lines - sum(per_minute)
    clients = [(f"{rnd.randint(1, 223)}.{rnd.randint(0, 255)}.{rnd.randint(0, 255)}."
                f"{rnd.randint(1, 254)}", rnd.choice(BROWSERS)) for _ in range(60000)]
    clients += [(f"66.249.{rnd.randint(64, 95)}.{rnd.randint(1, 254)}", rnd.choice(BOTS))
                for _ in range(200)]
    pages = (["/", "/index.html", "/estado.json", "/estado.json", "/estado.json",
              "/datos/ayuntamientos.json", "/datos/resumen.json"]
             + [f"/ayuntamientos/{m}.html" for m in MUNICIPIOS]
             + [f"/datos/ayuntamientos/{m}.json" for m in MUNICIPIOS])
    assets = ["/css/prep.css", "/js/prep.js", "/favicon.ico", "/fonts/roboto.woff2"]
    buf = []
    with open(path, "w", encoding="utf-8") as out:
        for m, n in enumerate(per_minute):
            t0 = start + timedelta(minutes=m)
            last_cut = t0 - timedelta(minutes=t0.minute % 10, seconds=0)
            for _ in range(n):
                t = t0 + timedelta(seconds=rnd.randrange(60))
                addr, ua = clients[int(rnd.paretovariate(1.2) * 50) % len(clients)]
                r = rnd.random()
                if r < 0.45:
                    p = rnd.choice(pages)
                elif r < 0.75:
                    p = rnd.choice(assets)
                elif r < 0.97:
                    p = f"/actas/{rnd.randrange(1, 4000):05d}.jpg"
                elif r < 0.99:
                    p = f"/descargas/{_cut_id(last_cut)}.zip"
                else:
                    p = f"/descargas/{_cut_id(last_cut)}.csv"
                q = rnd.random()
                status = (200 if q < 0.90 else 304 if q < 0.95 else 404 if q < 0.97
                          else 429 if q < 0.985 else 403 if q < 0.995 else 502)
                size = 0 if status == 304 else rnd.randrange(200, 60000)
                rt = rnd.expovariate(40.0)
                ts = (f"{t.day:02d}/{MONTHS[t.month - 1]}/{t.year}:{t.hour:02d}:{t.minute:02d}:"
                      f"{t.second:02d} -0500")
                buf.append(f'{addr} - - [{ts}] "GET {p} HTTP/1.1" {status} {size} '
                           f'"{rnd.choice(REFERERS)}" "{ua}" rt={rt:.3f} host=prep.example.mx\n')
                if len(buf) >= 10000:
                    out.write("".join(buf))
                    buf.clear()
        # A handful of garbage lines, as real logs have (a truncated line, binary noise).
        buf.append('203.0.113.9 - - [06/Jun/2021:23:59:59 -0500] "GET /trunc\n')
        buf.append("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n")
        out.write("".join(buf))
    return path
