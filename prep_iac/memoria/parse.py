"""Streaming parse of access logs into small partial aggregates.

Files are read in chunks of whole lines (plain or gzip, rotated ones included); each chunk is
split on '"' by polars' CSV reader (Rust, multi-threaded) and reduced at once to a few small
frames keyed by 10-minute bucket. Nothing per line survives a chunk, so memory is bounded by the
number of distinct (bucket, page, status), (bucket, visitor) ... keys, not by the log's size.
Per-line datetime objects are never built: the 10-minute key is a fixed-width slice of the
timestamp, converted once per distinct key (see logformat.ten_minute_epoch) into the bucket's
epoch, an integer that every line of the chunk then carries.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from isal import igzip
from isal.isal_zlib import error as IsalError

from prep_iac.errors import PrepError
from prep_iac.memoria import logformat as lf

CHUNK_BYTES = 32 << 20
# Partial frames are folded together when this many have piled up (bounds memory even when a
# log is not in time order; in order, buckets rarely span chunks and folding gains little).
COMPACT_EVERY = 32

# Response-time histogram: bin = floor(log2(ms + 1) * RT_BINS_PER_OCTAVE); ~9 % wide bins.
RT_BINS_PER_OCTAVE = 8

# collect's OUT/linea-base/: the portal's usual days, never counted as the PREP's traffic.
BASELINE_DIR = "linea-base"
_ROTATED = re.compile(r"(?P<base>.+?\.log)(?:\.(?P<n>\d+))?(?P<gz>\.gz)?")  # whole


@dataclass
class Parsed:
    """What the report needs from a set of logs, keyed by 10-minute bucket `b` (UTC epoch)."""

    traffic: pl.DataFrame  # b, path, status, hits, bytes
    visitors: pl.DataFrame  # b, vh (u64 hash of address + user agent), hits
    sources: pl.DataFrame  # b, ref (referer host), ua, hits
    rt: pl.DataFrame  # b, bin, n
    lines: int = 0
    malformed: int = 0
    blank: int = 0
    rt_lines: int = 0  # lines that carried rt= (0 means plain combined: no response times)
    files: list[str] = field(default_factory=list)
    malformed_examples: list[str] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)  # gzip files read only up to a damage

    @property
    def parsed(self) -> int:
        return self.lines - self.malformed - self.blank


def log_files(root: Path) -> list[Path]:
    """Access logs under root, oldest rotation first (x.log.3.gz, x.log.2.gz, x.log.1, x.log).

    Accepts a file or a directory (searched recursively, so a collected bundle's
    host/ subfolders work as they are).
    """
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise PrepError(f"no such logs directory: {root}",
                        "give --logs the folder `prep-iac memoria collect` wrote, or any folder "
                        "with nginx access logs (*.log, *.log.1, *.log.2.gz …)")
    found = []
    for p in root.rglob("*"):
        m = _ROTATED.fullmatch(p.name)
        # Both the access log and the web-attack filter's log (nginx's access_log in the
        # blocking location replaces the server's, so a request is in one of them only).
        if BASELINE_DIR in p.relative_to(root).parts[:-1]:
            continue
        if m and p.is_file() and not p.name.startswith("journal") and "error" not in p.name:
            found.append((str(p.parent), m.group("base"), -int(m.group("n") or 0), p))
    return [p for *_, p in sorted(found)]


DAMAGE = (EOFError, OSError, IsalError)  # a gzip stream cut short or corrupt, a read error


def _chunks(path: Path, damaged: list[tuple[Path, str]], size: int | None = None
            ) -> Iterator[tuple[bytes, int]]:
    """Whole-line chunks of a plain or gzip file (gzip told by its magic, not its name), each
    with how many bytes of the file on disk it advanced (for an honest progress bar). A file
    damaged part way (a rotation cut short, a bad copy, a read error) ends at the damage, less
    at most 64 KiB before it (_before_damage), and `damaged` gets (the file, the error): the
    other files still count whole."""
    with open(path, "rb") as raw:
        f = _opened(raw)
        pos = served = 0
        while True:
            try:
                block = f.read(size or CHUNK_BYTES)
                if block and not block.endswith(b"\n"):
                    block += f.readline()  # finish the line: one copy at most, no rescans
            except DAMAGE as exc:
                damaged.append((path, str(exc) or type(exc).__name__))
                rest = _before_damage(path, served)
                if rest:
                    yield rest, path.stat().st_size - pos
                return
            if not block:
                return
            now = raw.tell()
            served += len(block)
            yield block, now - pos
            pos = now


def _opened(raw):
    """The file's lines' bytes: through ISA-L's inflate when it is gzip (same format, same
    errors as Python's gzip, about half the CPU time)."""
    gz = raw.read(2) == b"\x1f\x8b"
    raw.seek(0)
    return igzip.IGzipFile(fileobj=raw, mode="rb") if gz else raw


def _before_damage(path: Path, served: int, piece: int = 64 << 10) -> bytes:
    """The whole lines between the `served` bytes already read and a damage: read again in
    small pieces, so a chunk that broke part way loses only its last 64 KiB."""
    pieces: list[bytes] = []
    with open(path, "rb") as raw:
        f = _opened(raw)
        try:
            while served > 0:  # past what was already counted
                skipped = f.read(min(served, 1 << 20))
                if not skipped:
                    return b""
                served -= len(skipped)
            while block := f.read(piece):
                pieces.append(block)
        except DAMAGE:
            pass  # the pieces before it are the point
    rest = b"".join(pieces)
    return rest[:rest.rfind(b"\n") + 1]


def _reduce_chunk(data: bytes) -> tuple[dict, list[pl.DataFrame]]:
    df = pl.read_csv(
        io.BytesIO(data), separator='"', quote_char=None, has_header=False,
        encoding="utf8-lossy", truncate_ragged_lines=True,
        # A fixed schema: the first line of a chunk may be garbage with fewer fields.
        schema={name: pl.String for name in lf.FIELDS}, missing_columns="insert",
    )
    n = df.height
    blank = df.select(pl.col("prefix").is_null().sum()).item()
    ok = (
        pl.col("prefix").str.contains(lf.PREFIX_RE)
        & pl.col("middle").str.contains(lf.MIDDLE_RE)
        & (pl.col("sep") == " ")
        & pl.col("ua").is_not_null()
        & (pl.col("tail").is_null() | pl.col("tail").str.contains(lf.TAIL_RE))
    ).fill_null(False)
    df = df.with_columns(ok.alias("ok"))
    bad = df.filter(~pl.col("ok") & pl.col("prefix").is_not_null())
    examples = [str(x)[:160] for x in bad.get_column("prefix").head(3).to_list()]
    s10, l10 = lf.TEN_MIN_SLICE
    so, lo = lf.OFFSET_SLICE
    good = df.lazy().filter(pl.col("ok")).select(
        # The 10-minute key and the UTC offset, as one text ("06/Jun/2021:18:0-0500").
        pl.concat_str([pl.col("prefix").str.slice(s10, l10), pl.col("prefix").str.slice(so, lo)])
        .alias("key"),
        # Splits, not regexes, for the hot fields: about twice as fast in polars.
        # split_exact(by, n) makes n + 1 fields: asking no more than needed is cheaper.
        pl.concat_str([pl.col("prefix").str.split_exact(" ", 0).struct.field("field_0"),
                       pl.col("ua")], separator="\t").hash(2021).alias("vh"),
        pl.col("request").str.split_exact(" ", 1).struct.field("field_1")
        .str.split_exact("?", 0).struct.field("field_0").alias("path"),
        pl.col("middle").str.slice(1, 3).cast(pl.Int16).alias("status"),
        pl.col("middle").str.slice(5).str.strip_chars_end().cast(pl.Int64, strict=False)
        .fill_null(0).alias("bytes"),
        pl.col("referer").alias("ref"),
        pl.col("ua"),
        # tail is " rt=0.012 host=…" (TAIL_RE checked the order): the 2nd word minus "rt=".
        pl.col("tail").str.split_exact(" ", 1).struct.field("field_1").str.slice(3)
        .cast(pl.Float64, strict=False).alias("rt"),
    ).collect()
    # Each distinct key (a few per chunk) becomes its bucket's UTC epoch once; every line then
    # carries that integer, which is what the group-bys below key on. A well-formed but
    # impossible date (31/Feb, 06/Foo) has none: malformed too.
    keys = good.get_column("key").unique().to_list()
    epochs = [lf.ten_minute_epoch(k[:l10], k[l10:]) for k in keys]
    good = good.lazy().with_columns(
        pl.col("key").replace_strict(keys, epochs, return_dtype=pl.Int64).alias("b"))
    bad_dates = good.filter(pl.col("b").is_null()).select(pl.len())
    good = good.filter(pl.col("b").is_not_null())
    traffic = good.group_by("b", "path", "status").agg(
        pl.len().cast(pl.Int64).alias("hits"), pl.col("bytes").sum())
    # Hits per visitor too: the busiest client's rate is compared with the rate limits.
    visitors = good.group_by("b", "vh").agg(pl.len().cast(pl.Int64).alias("hits"))
    sources = good.group_by("b", "ref", "ua").agg(pl.len().cast(pl.Int64).alias("hits"))
    rt = good.filter(pl.col("rt").is_not_null()).select(
        "b",
        ((pl.col("rt") * 1000 + 1).log(2) * RT_BINS_PER_OCTAVE).floor().cast(pl.Int32).alias("bin"),
    ).group_by("b", "bin").agg(pl.len().cast(pl.Int64).alias("n"))
    *frames, bad_dates = pl.collect_all([traffic, visitors, sources, rt, bad_dates])
    rt_lines = int(frames[3].get_column("n").sum()) if frames[3].height else 0
    stats = {"lines": n, "blank": blank, "malformed": bad.height + bad_dates.item(),
             "rt_lines": rt_lines, "examples": examples}
    return stats, frames


def _fold(parts: list[list[pl.DataFrame]]) -> list[pl.DataFrame]:
    """The parts' frames merged, each key once. Only a bucket found in more than one part can
    repeat a key (chunks of a log in time order share a bucket or two at their edges): only
    its rows are grouped again, the others pass as they are."""
    many = [pl.concat([f.select("b").unique() for f in frames]).filter(pl.col("b").is_duplicated())
            .get_column("b") for frames in zip(*parts, strict=True)]
    specs = [(("b", "path", "status"), [pl.col("hits").sum(), pl.col("bytes").sum()]),
             (("b", "vh"), [pl.col("hits").sum()]),
             (("b", "ref", "ua"), [pl.col("hits").sum()]),
             (("b", "bin"), [pl.col("n").sum()])]
    out = []
    for frames, shared, (keys, sums) in zip(zip(*parts, strict=True), many, specs, strict=True):
        every = pl.concat(frames)
        if shared.is_empty():
            out.append(every)
            continue
        again = pl.col("b").is_in(shared.unique().implode())
        out.append(pl.concat([every.filter(~again),
                              every.filter(again).group_by(*keys).agg(*sums)]))
    return out


def parse_logs(paths: Iterable[Path], progress: Callable[[int], None] | None = None) -> Parsed:
    """Parse the given files into a Parsed. `progress(n)` is called after each chunk with the
    bytes of the files on disk it covered."""
    parts: list[list[pl.DataFrame]] = []
    totals = {"lines": 0, "blank": 0, "malformed": 0, "rt_lines": 0}
    examples: list[str] = []
    paths = list(paths)
    files = [str(path) for path in paths]
    damaged: list[tuple[Path, str]] = []
    lines_of: dict[Path, int] = {}
    chunks = ((path, chunk, advanced) for path in paths
              for chunk, advanced in _chunks(path, damaged))
    for path, chunk, advanced in chunks:
        stats, frames = _reduce_chunk(chunk)
        lines_of[path] = lines_of.get(path, 0) + stats["lines"]
        for k in totals:
            totals[k] += stats[k]
        if len(examples) < 5:
            examples += [f"{path.name}: {e}" for e in stats["examples"]][: 5 - len(examples)]
        if frames[0].height:
            parts.append(frames)
        if len(parts) >= COMPACT_EVERY:
            parts = [_fold(parts)]
        if progress:
            progress(advanced)
    if parts:
        traffic, visitors, sources, rt = _fold(parts)
    else:
        traffic = pl.DataFrame(schema={"b": pl.Int64, "path": pl.String, "status": pl.Int16,
                                       "hits": pl.Int64, "bytes": pl.Int64})
        visitors = pl.DataFrame(schema={"b": pl.Int64, "vh": pl.UInt64, "hits": pl.Int64})
        sources = pl.DataFrame(schema={"b": pl.Int64, "ref": pl.String, "ua": pl.String,
                                       "hits": pl.Int64})
        rt = pl.DataFrame(schema={"b": pl.Int64, "bin": pl.Int32, "n": pl.Int64})
    return Parsed(traffic=traffic, visitors=visitors, sources=sources, rt=rt, files=files,
                  malformed_examples=examples, **totals,
                  damaged=[f"{path}: {error} (read up to line {lines_of.get(path, 0):,})"
                           for path, error in damaged])


def rt_bin_upper_ms(b: int) -> float:
    """Upper edge, in milliseconds, of response-time bin b."""
    return 2 ** ((b + 1) / RT_BINS_PER_OCTAVE) - 1
