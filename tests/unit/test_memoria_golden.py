"""The memoria's numbers pinned: a generated night of logs (a rotated .gz, an older rotated
plain file, the live log, malformed lines of every kind, plain `combined` lines, another UTC
offset, a baseline day) gives exactly the report.json and the report's text stored in
tests/data/memoria/golden-*.  They were written by the parser and aggregation before they were
made faster; any change to what the report says shows here.

Regenerate (only when a number is meant to change, and say why in the commit):
    PREP_GOLDEN_WRITE=1 .venv/bin/pytest -q tests/unit/test_memoria_golden.py
"""

import gzip
import html as htmlmod
import json
import os
import random
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from prep_iac.memoria import parse, report

DATA = Path(__file__).parent.parent / "data" / "memoria"
GOLDEN_JSON = DATA / "golden-report.json"
GOLDEN_TEXT = DATA / "golden-report.txt"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
AGENTS = ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/91.0 Safari/537.36",
          "Mozilla/5.0 (iPhone; CPU iPhone OS 14_6 like Mac OS X) Mobile/15E148 Safari/604.1",
          "Mozilla/5.0 (X11; Linux x86_64; rv:89.0) Gecko/20100101 Firefox/89.0",
          "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
          "curl/7.68.0", "-"]
PATHS = ["/", "/index.html", "/estado.json", "/estado.json?t=17", "/datos/resumen.json",
         "/ayuntamientos/001.html", "/ayuntamientos/saltillo", "/css/prep.css", "/js/prep.js",
         "/favicon.ico", "/actas/00017.jpg", "/actas/01234.jpg",
         "/descargas/20210606_2100_PREP_AYUN_COAH.zip", "/descargas/x.csv"]
REFERERS = ["-", "https://www.google.com/search?q=prep", "https://t.co/abc",
            "http://WWW.Example.MX:8080/x", "android-app://com.google", ""]
STATUSES = [200] * 40 + [304] * 4 + [404, 429, 429, 403, 502, 500]
GARBAGE = [
    '203.0.113.9 - - [06/Jun/2021:23:59:59 -0500] "GET /trunc\n',  # truncated
    "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n",  # a TLS hello on port 80
    ('10.1.1.1 - - [31/Feb/2021:21:00:00 -0500] "GET / HTTP/1.1" 200 5 "-" "Mozilla/5.0" '
     'rt=0.001 host=prep.example.mx\n'),  # an impossible date: malformed, not a hit
    '10.1.1.1 - - [06/Foo/2021:21:00:00 -0500] "GET / HTTP/1.1" 200 5 "-" "Mozilla/5.0"\n',
    '10.1.1.1 - - [06/Jun/2021:21:00:00 -0500] "GET / HTTP/1.1" 2000 5 "-" "Mozilla/5.0"\n',
    "\n",  # blank
    "  \n",
    'ñandú "en" "medio"\n',
]


def _line(rnd: random.Random, t: datetime, plain: bool) -> str:
    addr = f"10.{rnd.randrange(3)}.{rnd.randrange(4)}.{rnd.randrange(1, 40)}"
    status = rnd.choice(STATUSES)
    size = "-" if status == 304 and rnd.random() < 0.5 else str(rnd.randrange(0, 90_000))
    ts = (f"{t.day:02d}/{MONTHS[t.month - 1]}/{t.year}:{t.hour:02d}:{t.minute:02d}:"
          f"{t.second:02d} {t.strftime('%z')}")
    line = (f'{addr} - - [{ts}] "GET {rnd.choice(PATHS)} HTTP/1.1" {status} {size} '
            f'"{rnd.choice(REFERERS)}" "{rnd.choice(AGENTS)}"')
    if not plain:
        rt = "-" if rnd.random() < 0.02 else f"{rnd.expovariate(30.0):.3f}"
        line += f" rt={rt} host=prep.example.mx"
    return line + "\n"


def _write(path: Path, lines: list[str]) -> None:
    if path.name.endswith(".gz"):
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.writelines(lines)
    else:
        path.write_text("".join(lines), encoding="utf-8")


def generate(folder: Path, seed: int = 21) -> Path:
    """Two nodes' logs of 4-8 June 2021 in -0500, but difusor-2's prep.access.log.1 in UTC:
    two quiet days (the baseline), a busy night, a quiet day."""
    rnd = random.Random(seed)
    mty = timezone(timedelta(hours=-5))
    # Each file up to when, and the mean seconds between two lines.
    files = (("prep.access.log.2.gz", datetime(2021, 6, 6, 17, 0, tzinfo=mty), 900),
             ("prep.access.log.1", datetime(2021, 6, 7, 2, 0, tzinfo=mty), 7),
             ("prep.access.log", datetime(2021, 6, 8, 1, 0, tzinfo=mty), 40))
    written = []
    for node in ("difusor-1", "difusor-2"):
        t = datetime(2021, 6, 4, 9, 0, tzinfo=mty)
        for name, until, step in files:
            lines = []
            in_utc = (node, name) == ("difusor-2", "prep.access.log.1")
            while t < until:
                t += timedelta(seconds=rnd.randrange(1, 2 * step))
                lines.append(_line(rnd, t.astimezone(UTC) if in_utc else t,
                                   plain=rnd.random() < 0.05))
                if rnd.random() < 0.002:
                    lines.append(rnd.choice(GARBAGE))
            written.append((folder / node / name, lines))
    for path, lines in written:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write(path, lines)
    return folder


def _report(tmp_path: Path, pdf: bool = False) -> tuple[dict, str]:
    logs = generate(tmp_path / "logs")
    out = tmp_path / "out"
    data = report.build(report.Options(
        logs=logs, out=out, desde="2021-06-06 18:00", hasta="2021-06-07 20:00", baseline_days=2,
        rate_limit_rps=5, link_mbps=1, cut_ids=["20210606_2100_PREP_AYUN_COAH"], pdf=pdf))
    on_disk = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert on_disk["window"] == json.loads(json.dumps(data["window"]))
    return on_disk, _text(out / "report.html", tmp_path)


def _text(page: Path, tmp_path: Path) -> str:
    """report.html's words and numbers, one line per block, without the figures and the
    generation time (and with the temporary folder's name taken out)."""
    text = page.read_text(encoding="utf-8")
    text = re.sub(r"<style>.*?</style>", "", text, flags=re.DOTALL)
    text = re.sub(r"<(?:img|svg)\b.*?(?:</svg>|>)", "[figura]", text, flags=re.DOTALL)
    text = re.sub(r"</(?:p|tr|h\d|li|table)>", "\n", text)
    text = re.sub(r"<[^>]+>", " ", text)
    lines = [" ".join(htmlmod.unescape(line).split()) for line in text.splitlines()]
    lines = [line for line in lines if line and not line.startswith("Generada el")]
    return "\n".join(lines).replace(str(tmp_path), "TMP") + "\n"


def _comparable(data: dict, tmp_path: Path) -> dict:
    data = json.loads(json.dumps(data).replace(str(tmp_path), "TMP"))
    data.pop("generated")
    return data


def test_report_numbers_are_pinned(tmp_path):
    data, text = _report(tmp_path)
    data = _comparable(data, tmp_path)
    if os.environ.get("PREP_GOLDEN_WRITE"):
        GOLDEN_JSON.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n",
                               encoding="utf-8")
        GOLDEN_TEXT.write_text(text, encoding="utf-8")
    golden = json.loads(GOLDEN_JSON.read_text(encoding="utf-8"))
    # The parts first, so a difference names where it is; then the whole.
    for key in golden:
        assert data.get(key) == golden[key], key
    assert data == golden
    assert text == GOLDEN_TEXT.read_text(encoding="utf-8")
    # What makes this night worth pinning: it has all of these.
    assert data["input"]["malformed"] >= 5 and data["input"]["blank"] >= 1
    assert any(f.endswith(".gz") for f in data["input"]["files"])
    assert data["comparison"] and data["window"]["response_ms"]


@pytest.mark.parametrize("chunk", [50_000, 400_000])
def test_chunk_size_changes_nothing(tmp_path, monkeypatch, chunk):
    """Chunks cut the logs anywhere between lines; buckets and visitors straddle them."""
    monkeypatch.setattr(parse, "CHUNK_BYTES", chunk)
    data, _ = _report(tmp_path)
    golden = json.loads(GOLDEN_JSON.read_text(encoding="utf-8"))
    data = _comparable(data, tmp_path)
    # Only the examples of malformed lines depend on the chunks (up to 3 from each).
    for d in (data, golden):
        d["input"].pop("malformed_examples")
    assert data == golden
