"""`prep-iac memoria report`: logs in, report.json + report.html + report.pdf out
(report.pdf is report.html laid out for print).

Problems the user can act on (unknown format, empty period, a baseline that does not precede
the window) are collected as they are found; whatever can still be reported is written first,
then they are raised together as one PrepError.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from prep_iac.errors import PrepError
from prep_iac.memoria import aggregate, baseline, incidents, parse
from prep_iac.memoria.logformat import BUCKET_S
from prep_iac.memoria.suggestions import derive


@dataclass
class Options:
    logs: Path
    out: Path
    tz: str = "America/Monterrey"
    desde: str | None = None
    hasta: str | None = None
    baseline_logs: Path | None = None
    baseline_days: int | None = None
    rate_limit_rps: float | None = None
    link_mbps: float | None = None
    cut_ids: list[str] = field(default_factory=list)
    pdf: bool = True
    memoria_by: date | None = None  # the calendar's due date (base VI)
    delivered: date | None = None  # the delivery's date (default: today in the report's zone)


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise PrepError(f"unknown time zone {name!r}",
                        "use an IANA name such as America/Monterrey") from exc


def parse_when(text: str, tz: ZoneInfo) -> int:
    """'2021-06-06 18:00' (report's zone) or ISO with offset -> UTC epoch."""
    try:
        t = datetime.fromisoformat(text.strip().replace("T", " "))
    except ValueError as exc:
        raise PrepError(f"cannot read the date {text!r}",
                        "write it as YYYY-MM-DD HH:MM (in the report's time zone)") from exc
    if t.tzinfo is None:
        t = t.replace(tzinfo=tz)
    return int(t.timestamp())


def _floor(t: int) -> int:
    return t - t % BUCKET_S


def _ceil(t: int) -> int:
    return _floor(t + BUCKET_S - 1)


def _iso(t: float, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(t, tz).isoformat()


def _local_midnight(t: int, tz: ZoneInfo) -> int:
    local = datetime.fromtimestamp(t, tz)
    return int(local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp())


def _input_summary(p: parse.Parsed) -> dict:
    return {"files": p.files, "lines": p.lines, "parsed": p.parsed, "malformed": p.malformed,
            "blank": p.blank, "malformed_examples": p.malformed_examples,
            "damaged": p.damaged, "response_times_available": p.rt_lines > 0}


def build(opts: Options, progress: Callable[[str, int, int], None] | None = None,
          phase: Callable[[str], None] = lambda name: None) -> dict:
    """Write the report files into opts.out and return report.json's content.

    `phase(name)` is called as each step ends (parse, aggregate, figures, html, pdf): the
    bench's breakdown of where the time goes (`--timings`)."""
    tz = zone(opts.tz)
    if opts.pdf:
        from prep_iac.memoria import pdf

        pdf.preload()  # imported beside the parse; a missing WeasyPrint is said at once
    opts.out.mkdir(parents=True, exist_ok=True)
    problems: list[PrepError] = []
    now = datetime.now(tz)
    data: dict = {"generated": now.isoformat(timespec="seconds"), "tz": opts.tz}
    data["entrega"] = (baseline.delivery(opts.memoria_by, opts.delivered or now.date())
                       if opts.memoria_by else None)
    if not (opts.baseline_logs or opts.baseline_days) and opts.logs.is_dir() \
            and (opts.logs / baseline.BASELINE_DIR).is_dir():
        opts.baseline_logs = opts.logs / baseline.BASELINE_DIR  # what collect fetched

    files = parse.log_files(opts.logs)
    if not files:
        raise PrepError(f"no access logs under {opts.logs}",
                        "give --logs the folder with prep.access.log* files")
    logs = _parse(files, progress, "bitácoras")
    phase("parse")
    data["input"] = _input_summary(logs)
    if logs.damaged:  # the report is still written, from every line that could be read
        problems.append(PrepError(
            "damaged log files, counted only up to the damage: " + "; ".join(logs.damaged),
            "fetch them again (prep-iac memoria collect) or restore them from the difusor's "
            "copy, then write the report again"))
    if logs.lines and not logs.parsed:
        _write_json(opts.out, data)
        raise PrepError(
            f"none of the {logs.lines} lines under {opts.logs} is an nginx combined/prep "
            f"access log line (first: {logs.malformed_examples[:1]})",
            "give the difusor's access logs (nginx log_format `prep` or `combined`)")
    cov = aggregate.coverage(logs)
    if cov is None:
        _write_json(opts.out, data)
        raise PrepError(f"the logs under {opts.logs} are empty", "check the folder")
    data["coverage"] = {"start": _iso(cov[0], tz), "end": _iso(cov[1], tz)}

    start = _floor(parse_when(opts.desde, tz)) if opts.desde else cov[0]
    end = _ceil(parse_when(opts.hasta, tz)) if opts.hasta else cov[1]
    if end <= start:
        raise PrepError(f"--hasta ({opts.hasta}) is not after --desde ({opts.desde})",
                        "swap them or fix the dates")
    if opts.baseline_days and not opts.desde:
        raise PrepError("--baseline-days needs --desde (where the PREP window starts)",
                        "add --desde '2021-06-06 18:00' (and --hasta)")
    window = aggregate.summarize(logs, tz, start, end)
    data["window"] = window
    if window["totals"]["hits"] == 0:
        problems.append(PrepError(
            f"no requests between {_iso(start, tz)} and {_iso(end, tz)}; the logs cover "
            f"{data['coverage']['start']} to {data['coverage']['end']}",
            "check --desde/--hasta and --tz against the logs' dates"))

    data["baseline"] = data["comparison"] = None
    base = _baseline(opts, logs, start, tz, progress, problems)
    if base is not None:
        bsum, bdays = base
        data["baseline"] = bsum
        if bsum["totals"]["hits"] and window["totals"]["hits"]:
            data["comparison"] = aggregate.compare(window, bsum, bdays)

    scan = incidents.scan_files(incidents.journal_files(opts.logs))
    found = [i for i in scan.incidents if _overlaps(i, start, end)]
    found += incidents.server_error_bursts(window["per_10min"], tz)
    found.sort(key=lambda i: i.start if i.start is not None else (i.end or 0))
    cuts = sorted({t for t, _ in scan.cuts if start <= t < end}
                  | {t for c in opts.cut_ids if (t := incidents.cut_time(c, tz))
                     and start <= t < end})
    shown = [i.to_json(tz) for i in found if i.kind != "corte"]
    data["incidents"] = shown
    data["journal"] = {"entries": scan.entries, "malformed": scan.malformed}
    data["cuts"] = [_iso(t, tz) for t in cuts]
    limits = {"rate_limit_rps": opts.rate_limit_rps, "link_mbps": opts.link_mbps}
    data["limits"] = limits
    data["suggestions"] = derive(window, data["comparison"], shown,
                                 {k: v for k, v in limits.items() if v}, logs.malformed,
                                 logs.lines)
    data["bundle"] = _bundle_listing(opts.logs)
    _write_json(opts.out, data)
    phase("aggregate")

    if window["totals"]["hits"]:
        from prep_iac.memoria import html, pdf, plots

        notices = [(i.start or start, i.end or end) for i in found
                   if i.kind == incidents.NOTICE]
        figures = {
            "traffic": plots.traffic(window, cuts, notices, tz),
            "visitors": plots.visitors(window, tz),
            "status": plots.status(window, tz),
            "timeline": plots.timeline(shown, start, end, tz),
        }
        if data["comparison"]:
            figures["baseline"] = plots.against_baseline(data["comparison"])
        phase("figures")
        page = html.render(data, figures)
        (opts.out / "report.html").write_text(page, encoding="utf-8")
        phase("html")
        if opts.pdf:
            pdf.render(page, opts.out / "report.pdf")  # the same page, laid out for print
            phase("pdf")
    if problems:
        raise PrepError("; ".join(p.cause for p in problems),
                        " / ".join(p.fix for p in problems if p.fix))
    return data


def _parse(files, progress, label) -> parse.Parsed:
    total = sum(p.stat().st_size for p in files)
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(label, min(done, total), total)

    return parse.parse_logs(files, tick)


def _baseline(opts: Options, logs: parse.Parsed, start: int, tz: ZoneInfo, progress,
              problems: list[PrepError]) -> tuple[dict, int] | None:
    if opts.baseline_logs:
        files = parse.log_files(opts.baseline_logs)
        base = _parse(files, progress, "línea base")
        cov = aggregate.coverage(base)
        if cov is None:
            problems.append(PrepError(f"the baseline logs under {opts.baseline_logs} have no "
                                      "valid line", "give the portal's usual-days logs"))
            return None
        if cov[1] > start:
            problems.append(PrepError(
                f"the baseline ({_iso(cov[0], tz)} to {_iso(cov[1], tz)}) does not precede the "
                f"PREP window (from {_iso(start, tz)})",
                "give --baseline-logs of days before the election (or --baseline-days N)"))
            return None
        bstart = _local_midnight(cov[0], tz)
        bend = _local_midnight(cov[1] - 1, tz) + 86400
        summary = aggregate.summarize(base, tz, bstart, bend)
    elif opts.baseline_days:
        bend = _local_midnight(start, tz)
        bstart = int((datetime.fromtimestamp(bend, tz) - timedelta(days=opts.baseline_days))
                     .timestamp())
        summary = aggregate.summarize(logs, tz, bstart, bend)
    else:
        return None
    days = sum(1 for r in summary["per_day"] if r["hits"])
    if not days:
        problems.append(PrepError(
            f"no requests in the baseline ({_iso(bstart, tz)} to {_iso(bend, tz)})",
            "give logs that cover the portal's usual days before the election"))
        return None
    summary["hours"] = days * 24  # averages over the days that have data
    return summary, days


def _overlaps(i: incidents.Incident, start: int, end: int) -> bool:
    a = i.start if i.start is not None else start
    b = i.end if i.end is not None else end
    return a < end and b >= start


def _bundle_listing(logs: Path) -> list[dict]:
    sums = logs / "SHA256SUMS" if logs.is_dir() else None
    if not sums or not sums.exists():
        return []
    return [{"sha256": h, "file": n} for h, n in
            (line.split("  ", 1) for line in sums.read_text().splitlines() if line)]


def _write_json(out: Path, data: dict) -> None:
    (out / "report.json").write_text(json.dumps(data, indent=1, ensure_ascii=False, default=str),
                                     encoding="utf-8")
