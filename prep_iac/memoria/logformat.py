"""What a line of the difusor's access log means: the format, pages vs assets, bots.

The difusor's nginx writes `combined` plus two fields (see docs/memoria.md):

    $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent
    "$http_referer" "$http_user_agent" rt=$request_time host=$host

Plain `combined` (no rt=/host=) is read too; response times are then "not available".
A line split on `"` gives exactly 7 fields in both formats; that is what makes parsing cheap.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

# The fields a line splits into on '"' (see parse.py): prefix, request, middle, referer,
# a single space, user agent, tail (' rt=... host=...' or nothing).
FIELDS = ["prefix", "request", "middle", "referer", "sep", "ua", "tail"]

# Validation of the pieces, done vectorised (polars' Rust regex engine).
PREFIX_RE = r"^\S+ \S+ .*\[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] $"
MIDDLE_RE = r"^ \d{3} (?:\d+|-) $"
TAIL_RE = r"^(?: rt=(?:[\d.]+|-))?(?: host=\S*)?\s*$"

# The report's traffic statistics are per 10 minutes: a property of the report (GoAccess-like
# resolution), not of the cuts' period (contract.DEFAULT_PERIOD_S happens to be 600 s too).
BUCKET_S = 600

# Where the fixed-width timestamp sits, counted from the end of the prefix
# "... [06/Jun/2021:18:00:35 -0500] ": the 10-minute key is "06/Jun/2021:18:0".
TEN_MIN_SLICE = (-28, 16)
OFFSET_SLICE = (-7, 5)

MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}

# The cut-time polling file every open page requests: counted apart from pages.
ESTADO_PATH = "/estado.json"

# Pages are HTML and the data the pages load; everything else under these is an asset.
PAGE_EXTENSIONS = (".html", ".htm", ".json", ".csv", ".zip")
ASSET_PREFIXES = ("/actas/",)
ASSET_EXTENSIONS = (
    ".css", ".js", ".mjs", ".map", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".ico",
    ".woff", ".woff2", ".ttf", ".otf", ".eot", ".pdf", ".txt", ".xml",
)

# Substrings of a user agent that mark a robot (case-insensitive). Small on purpose:
# the big crawlers and the usual scripting clients.
BOT_MARKERS = (
    "bot", "crawl", "spider", "slurp", "curl/", "wget/", "python-requests", "python-urllib",
    "go-http-client", "java/", "libwww", "httpclient", "okhttp", "scrapy", "headless",
    "facebookexternalhit", "whatsapp", "monitor", "uptime", "pingdom", "zabbix", "nagios",
)


def classify_path(path: str | None) -> str:
    """'estado', 'page' or 'asset' for a request path (query string already removed)."""
    if not path:
        return "asset"
    if path == ESTADO_PATH:
        return "estado"
    low = path.lower()
    if low.startswith(ASSET_PREFIXES):
        return "asset"
    if low.endswith("/") or low.endswith(PAGE_EXTENSIONS):
        return "page"
    last = low.rsplit("/", 1)[-1]
    if "." not in last:  # /ayuntamientos/saltillo — a route, served as HTML
        return "page"
    return "asset"


def is_bot(user_agent: str | None) -> bool:
    if not user_agent or user_agent == "-":
        return True  # browsers always send one; an empty agent is a script
    low = user_agent.lower()
    return any(marker in low for marker in BOT_MARKERS)


def referer_host(referer: str | None) -> str:
    """The site a visit came from ('(directo)' when there is none)."""
    if not referer or referer == "-":
        return "(directo)"
    m = re.match(r"^[a-zA-Z][\w+.-]*://([^/:?#]+)", referer)
    return m.group(1).lower() if m else "(otro)"


def ten_minute_epoch(key: str, offset: str) -> int | None:
    """UTC epoch seconds of a 10-minute bucket from its text key and UTC offset.

    Called once per distinct (key, offset), never per line. None when it is not a date.
    """
    try:
        day, mon, rest = key[0:2], key[3:6], key[7:]
        year, hour, tens = int(rest[0:4]), int(rest[5:7]), int(rest[8:9])
        sign = -1 if offset[0] == "-" else 1
        off = sign * (int(offset[1:3]) * 3600 + int(offset[3:5]) * 60)
        local = datetime(year, MONTHS[mon], int(day), hour, tens * 10, tzinfo=UTC)
    except (KeyError, ValueError, IndexError):
        return None
    return int((local - timedelta(seconds=off)).timestamp())
