"""memoria's parser and aggregates on a hand-made log whose counts are known exactly."""

import gzip
import shutil
from datetime import UTC
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from prep_iac.memoria import logformat as lf
from prep_iac.memoria.aggregate import coverage, summarize
from prep_iac.memoria.parse import log_files, parse_logs

DATA = Path(__file__).parent.parent / "data" / "memoria"
MTY = ZoneInfo("America/Monterrey")


def _summary(paths, tz=MTY):
    p = parse_logs(paths)
    start, end = coverage(p)
    return p, summarize(p, tz, start, end)


def test_known_counts():
    p, s = _summary([DATA / "access-known.log"])
    assert (p.lines, p.malformed, p.blank, p.parsed) == (15, 1, 1, 13)
    t = s["totals"]
    assert t["hits"] == 13
    assert t["pages"] == 7
    assert t["estado"] == 2
    assert t["assets"] == 4
    assert t["visitors"] == 6  # (10.0.0.1, A), (10.0.0.1, B), .2, .3, .4 (bot), .5
    assert t["visitors_daily_sum"] == 7  # 10.0.0.2 comes back on 7 June
    assert (t["s2xx"], t["s3xx"], t["s4xx"], t["s5xx"]) == (7, 1, 4, 1)
    assert (t["s429"], t["s403"]) == (2, 1)
    assert t["bytes"] == 76750
    hours = {r["start"]: (r["hits"], r["pages"], r["visitors"], r["s429"])
             for r in s["per_hour"] if r["hits"]}
    assert len(s["per_hour"]) == 6  # 20:00 … 01:00, quiet hours as zeros
    assert len(s["per_10min"]) == 31 and s["per_10min"][2]["hits"] == 0
    assert hours == {
        "2021-06-06T20:00:00-05:00": (8, 4, 4, 1),
        "2021-06-06T21:00:00-05:00": (4, 2, 4, 1),
        "2021-06-07T01:00:00-05:00": (1, 1, 1, 0),
    }
    ten = {r["start"][11:16]: r["hits"] for r in s["per_10min"] if r["hits"]}
    assert ten == {"20:00": 5, "20:10": 2, "20:50": 1, "21:00": 1, "21:10": 1, "21:20": 1,
                   "21:30": 1, "01:00": 1}
    days = {r["day"]: (r["hits"], r["visitors"]) for r in s["per_day"]}
    assert days == {"2021-06-06": (12, 6), "2021-06-07": (1, 1)}
    assert s["top_pages"][0] == {"value": "/", "hits": 4}
    assert {"value": "/estado.json", "hits": 2} in s["top_pages"]
    assert s["bot_hits"] == 1 and s["bots"][0]["value"].startswith("Mozilla/5.0 (compatible; Goo")
    assert s["top_referers"][0] == {"value": "(directo)", "hits": 7}
    assert s["response_ms"]["requests"] == 13
    # 1.5 s is the slowest of 13: p99 falls in its bin (bins are ~9 % wide)
    assert 1400 <= s["response_ms"]["p99_ms"] <= 1700
    assert s["peak_hour"]["start"] == "2021-06-06T20:00:00-05:00"


def test_rotated_and_gzip_logs_read(tmp_path):
    lines = (DATA / "access-known.log").read_bytes().splitlines(keepends=True)
    with gzip.open(tmp_path / "prep.access.log.2.gz", "wb") as f:
        f.writelines(lines[:5])
    (tmp_path / "prep.access.log.1").write_bytes(b"".join(lines[5:10]))
    (tmp_path / "prep.access.log").write_bytes(b"".join(lines[10:]))
    (tmp_path / "error.log").write_text("2021/06/06 20:00:00 [error] not an access log\n")
    files = log_files(tmp_path)
    assert [f.name for f in files] == ["prep.access.log.2.gz", "prep.access.log.1",
                                       "prep.access.log"]
    p, s = _summary(files)
    assert s["totals"]["hits"] == 13 and s["totals"]["visitors"] == 6 and p.malformed == 1


def test_malformed_lines_counted_never_crash(tmp_path):
    good = (DATA / "access-known.log").read_bytes().splitlines(keepends=True)[0]
    junk = [b"\x16\x03\x01\x00\xff\xfe binary\n", b'1.2.3.4 - - [bad date] "GET /" 200 1 "-" "x"\n',
            b'1.2.3.4 - - [06/Jun/2021:20:00:00 -0500] "GET /" abc 1 "-" "x"\n',
            b'1.2.3.4 - - [06/Jun/2021:20:00:00 -0500] "GET /a"b" 200 1 "-" "x"\n',
            b'1.2.3.4 - - [31/Feb/2021:20:00:00 -0500] "GET /" 200 1 "-" "x"\n',
            b"truncated 1.2.3.4 - - [06/Jun/20", b""]
    f = tmp_path / "prep.access.log"
    f.write_bytes(good + b"".join(junk[:-2]) + good + junk[-2])
    p, s = _summary([f])
    assert s["totals"]["hits"] == 2
    assert p.malformed == 6
    assert p.malformed_examples


def test_combined_without_extra_fields_has_no_response_times():
    p, s = _summary([DATA / "access-combined.log"])
    assert s["totals"]["hits"] == 13 and p.malformed == 0
    assert s["response_ms"] is None and p.rt_lines == 0


def test_time_zones(tmp_path):
    # The same instants written in UTC and in -0500 land in the same local hours.
    src = (DATA / "access-combined.log").read_text()
    utc = []
    for line in src.splitlines():
        pre, rest = line.split("[", 1)
        stamp, tail = rest.split("]", 1)
        from datetime import datetime

        t = datetime.strptime(stamp, "%d/%b/%Y:%H:%M:%S %z").astimezone(UTC)
        utc.append(f"{pre}[{t.strftime('%d/%b/%Y:%H:%M:%S +0000')}]{tail}\n")
    f = tmp_path / "prep.access.log"
    f.write_text("".join(utc))
    _, local = _summary([DATA / "access-combined.log"])
    _, from_utc = _summary([f])
    assert local["per_hour"] == from_utc["per_hour"]
    assert local["per_day"] == from_utc["per_day"]
    # Reported in UTC instead, the 20:00 local hour is 01:00 of 7 June.
    _, in_utc = _summary([f], ZoneInfo("UTC"))
    assert in_utc["per_hour"][0]["start"] == "2021-06-07T01:00:00+00:00"
    assert {r["day"] for r in in_utc["per_day"]} == {"2021-06-07"}


def test_window_filter():
    p = parse_logs([DATA / "access-known.log"])
    start = int(__import__("datetime").datetime(2021, 6, 6, 21, 0, tzinfo=MTY).timestamp())
    s = summarize(p, MTY, start, start + 3600)
    assert s["totals"]["hits"] == 4 and s["totals"]["s429"] == 1


@pytest.mark.parametrize("path,kind", [
    ("/", "page"), ("/index.html", "page"), ("/estado.json", "estado"),
    ("/datos/x.json", "page"), ("/descargas/a.csv", "page"), ("/descargas/a.zip", "page"),
    ("/ayuntamientos/saltillo", "page"), ("/actas/1.jpg", "asset"), ("/actas/1.json", "asset"),
    ("/css/a.css", "asset"), ("/js/a.js", "asset"), ("/fonts/a.woff2", "asset"),
    ("/favicon.ico", "asset"), (None, "asset"),
])
def test_classify_path(path, kind):
    assert lf.classify_path(path) == kind


def test_bots_and_referers():
    assert lf.is_bot("Mozilla/5.0 (compatible; bingbot/2.0)")
    assert lf.is_bot("curl/7.68.0") and lf.is_bot("-") and lf.is_bot("")
    assert not lf.is_bot("Mozilla/5.0 (iPhone; CPU iPhone OS 14_6) Safari/604.1")
    assert lf.referer_host("https://WWW.Google.com/search?q=1") == "www.google.com"
    assert lf.referer_host("-") == "(directo)"


def test_ten_minute_epoch():
    assert lf.ten_minute_epoch("06/Jun/2021:20:0", "-0500") == 1623027600
    assert lf.ten_minute_epoch("06/Jun/2021:20:0", "+0000") == 1623009600
    assert lf.ten_minute_epoch("31/Feb/2021:20:0", "-0500") is None
    assert lf.ten_minute_epoch("06/Foo/2021:20:0", "-0500") is None


def test_copying_is_not_needed_for_logs_in_subfolders(tmp_path):
    node = tmp_path / "difusor-1"
    node.mkdir()
    shutil.copy(DATA / "access-known.log", node / "prep.access.log")
    assert log_files(tmp_path) == [node / "prep.access.log"]


def test_progress_counts_bytes_on_disk(tmp_path):
    body = (DATA / "access-known.log").read_bytes() * 50
    plain, gz = tmp_path / "a.log", tmp_path / "b.log.1.gz"
    plain.write_bytes(body)
    with gzip.open(gz, "wb") as f:
        f.write(body)
    seen = []
    p = parse_logs([plain, gz], seen.append)
    assert sum(seen) == plain.stat().st_size + gz.stat().st_size
    assert p.parsed == 2 * 50 * 13


def test_small_chunks_give_the_same_counts(monkeypatch):
    from prep_iac.memoria import parse

    _, whole = _summary([DATA / "access-known.log"])
    monkeypatch.setattr(parse, "CHUNK_BYTES", 333)  # lines cut across chunks, many folds
    p, pieces = _summary([DATA / "access-known.log"])
    assert pieces["totals"] == whole["totals"] and pieces["per_hour"] == whole["per_hour"]
    assert (p.malformed, p.blank) == (1, 1)


def test_gzip_of_several_members_read_whole(tmp_path):
    # `cat a.gz b.gz > ab.gz` is a valid gzip file: every member's lines count, as with zcat.
    lines = (DATA / "access-known.log").read_bytes().splitlines(keepends=True)
    gz = tmp_path / "prep.access.log.1.gz"
    gz.write_bytes(gzip.compress(b"".join(lines[:7])) + gzip.compress(b"".join(lines[7:])))
    p, s = _summary([gz])
    assert (p.lines, p.malformed, p.blank, s["totals"]["hits"]) == (15, 1, 1, 13)


def _night(lines: int) -> bytes:
    """`lines` distinct, well-formed lines of the known log's first valid line."""
    first = next(x for x in (DATA / "access-known.log").read_bytes().splitlines(keepends=True)
                 if b'"GET ' in x)
    return b"".join(first.replace(b"GET /", b"GET /%d/" % i, 1) for i in range(lines))


@pytest.mark.parametrize("chunk", [32 << 20, 20_000])
def test_a_gzip_cut_short_counts_its_lines_up_to_the_damage(tmp_path, monkeypatch, chunk):
    """A rotation cut short: every whole line before the damage but the last 64 KiB read
    counts, the file is named as damaged, and the other files count whole."""
    import zlib

    from prep_iac.memoria import parse

    monkeypatch.setattr(parse, "CHUNK_BYTES", chunk)  # the damage in the first chunk, a later one
    body = _night(20_000)
    packed = gzip.compress(body)
    cut = tmp_path / "prep.access.log.1.gz"
    cut.write_bytes(packed[:len(packed) // 2])
    whole = tmp_path / "prep.access.log"
    whole.write_bytes(body[:50_000].rsplit(b"\n", 1)[0] + b"\n")
    readable = zlib.decompressobj(31).decompress(cut.read_bytes())
    before_damage = readable.count(b"\n")
    assert before_damage > 1000
    p = parse_logs(log_files(tmp_path))
    assert len(p.damaged) == 1 and p.damaged[0].startswith(f"{cut}: Compressed file ended")
    in_cut = p.lines - whole.read_bytes().count(b"\n")
    longest = max(len(x) for x in body.splitlines())
    assert before_damage - (64 << 10) // longest - 1 <= in_cut <= before_damage
    assert f"read up to line {in_cut:,})" in p.damaged[0]
    assert p.malformed == 0


def test_a_file_that_is_no_gzip_is_damaged_not_a_crash(tmp_path):
    (tmp_path / "prep.access.log.2.gz").write_bytes(b"\x1f\x8bnot a gzip stream at all")
    (tmp_path / "prep.access.log").write_bytes(_night(10))
    p = parse_logs(log_files(tmp_path))
    assert p.lines == 10 and p.parsed == 10
    assert p.damaged == [(f"{tmp_path / 'prep.access.log.2.gz'}: Unknown compression method "
                         "(read up to line 0)")]
