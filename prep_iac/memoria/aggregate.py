"""From parsed logs to the report's numbers: series per 10 minutes, hour and day, totals, top
lists, response-time percentiles, and the PREP-window vs baseline comparison (base VI).

Everything returned is plain JSON-able data (it becomes report.json as it is).
Hours and days are those of the report's time zone, whatever offset the logs were written in.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import polars as pl

from prep_iac.memoria import logformat as lf
from prep_iac.memoria.parse import Parsed, rt_bin_upper_ms

TOP = 20
PERCENTILES = (50, 90, 95, 99)
SERIES_FIELDS = ("hits", "pages", "estado", "assets", "bytes", "s2xx", "s3xx", "s4xx", "s5xx",
                 "s429", "s403")


def _calendar(buckets: list[int], tz: ZoneInfo) -> pl.DataFrame:
    """b -> local hour start (epoch) and local day (YYYY-MM-DD), once per distinct bucket."""
    hours, days = [], []
    for b in buckets:
        local = datetime.fromtimestamp(b, tz)
        hours.append(int(local.replace(minute=0, second=0).timestamp()))
        days.append(local.strftime("%Y-%m-%d"))
    return pl.DataFrame({"b": buckets, "hour": hours, "day": days},
                        schema={"b": pl.Int64, "hour": pl.Int64, "day": pl.String})


def _kinds(paths: list) -> pl.DataFrame:
    return pl.DataFrame({"path": paths, "kind": [lf.classify_path(p) for p in paths]},
                        schema={"path": pl.String, "kind": pl.String})


def _series(traffic: pl.DataFrame, visitors: pl.DataFrame, key: str,
            keys: pl.DataFrame) -> list[dict]:
    """Sums per `key`; every key of `keys` is present (zeros where there was no traffic)."""
    t = traffic.group_by(key).agg(
        pl.col("hits").sum(),
        pl.col("hits").filter(pl.col("kind") == "page").sum().alias("pages"),
        pl.col("hits").filter(pl.col("kind") == "estado").sum().alias("estado"),
        pl.col("hits").filter(pl.col("kind") == "asset").sum().alias("assets"),
        pl.col("bytes").sum(),
        *[pl.col("hits").filter(pl.col("status") // 100 == c).sum().alias(f"s{c}xx")
          for c in (2, 3, 4, 5)],
        pl.col("hits").filter(pl.col("status") == 429).sum().alias("s429"),
        pl.col("hits").filter(pl.col("status") == 403).sum().alias("s403"),
    )
    v = visitors.group_by(key).agg(pl.col("vh").n_unique().cast(pl.Int64).alias("visitors"),
                                   pl.col("hits").max().alias("max_client_hits"))
    rows = keys.select(key).unique().join(t, on=key, how="left").join(v, on=key, how="left")
    return rows.sort(key).fill_null(0).to_dicts()


def _percentiles(rt: pl.DataFrame) -> dict | None:
    if rt.height == 0:
        return None
    h = rt.group_by("bin").agg(pl.col("n").sum()).sort("bin")
    bins, counts = h.get_column("bin").to_list(), h.get_column("n").to_list()
    total = sum(counts)
    out, acc, i = {}, 0, 0
    for p in PERCENTILES:
        need = total * p / 100
        while acc + counts[i] < need and i < len(counts) - 1:
            acc += counts[i]
            i += 1
        out[f"p{p}_ms"] = round(rt_bin_upper_ms(bins[i]), 1)
    out["requests"] = total
    return out


def _top(frame: pl.DataFrame, col: str, n: int = TOP) -> list[dict]:
    if frame.height == 0:
        return []
    g = frame.group_by(col).agg(pl.col("hits").sum()).sort(["hits", col], descending=[True, False])
    return [{"value": r[col], "hits": r["hits"]} for r in g.head(n).to_dicts()]


def coverage(p: Parsed) -> tuple[int, int] | None:
    """First and last bucket (UTC epochs) with data, or None."""
    if p.traffic.height == 0:
        return None
    b = p.traffic.get_column("b")
    return int(b.min()), int(b.max()) + lf.BUCKET_S


def summarize(p: Parsed, tz: ZoneInfo, start: int, end: int) -> dict:
    """All numbers of [start, end) (UTC epochs, 10-minute aligned)."""
    inside = pl.col("b").is_between(start, end, closed="left")
    traffic, visitors = p.traffic.filter(inside), p.visitors.filter(inside)
    sources, rt = p.sources.filter(inside), p.rt.filter(inside)
    # Every 10-minute bucket of the window, so quiet periods show as zeros, not gaps.
    cal = _calendar(list(range(start, end, lf.BUCKET_S)), tz)
    kinds = _kinds(traffic.get_column("path").unique().to_list())
    traffic = traffic.join(cal, on="b").join(kinds, on="path", how="left", nulls_equal=True)
    traffic = traffic.with_columns(pl.col("kind").fill_null("asset"))
    visitors = visitors.join(cal, on="b")
    sources = sources.join(cal, on="b")

    per10 = _series(traffic, visitors, "b", cal)
    per_hour = _series(traffic, visitors, "hour", cal)
    per_day = _series(traffic, visitors, "day", cal)
    for row in per10:
        row["start"] = datetime.fromtimestamp(row.pop("b"), tz).isoformat()
    for row in per_hour:
        row["start"] = datetime.fromtimestamp(row.pop("hour"), tz).isoformat()

    totals = {f: int(traffic.filter(_kind_filter(f)).get_column(_col(f)).sum() or 0)
              for f in SERIES_FIELDS}
    totals["visitors"] = visitors.get_column("vh").n_unique() if visitors.height else 0
    # GoAccess' definition: distinct (address, user agent) per day, added over the days.
    totals["visitors_daily_sum"] = sum(r["visitors"] for r in per_day)
    hours = (end - start) / 3600

    # User agents: hits, robots apart. Referers: by site.
    uas = sources.group_by("ua").agg(pl.col("hits").sum())
    uas = uas.with_columns(pl.Series("bot", [lf.is_bot(u) for u in uas.get_column("ua")],
                                     dtype=pl.Boolean))
    refs = sources.group_by("ref").agg(pl.col("hits").sum())
    refs = refs.with_columns(pl.Series("site", [lf.referer_host(r) for r in refs.get_column("ref")],
                                       dtype=pl.String))
    bot_hits = int(uas.filter(pl.col("bot")).get_column("hits").sum() or 0)

    peak10 = max(per10, key=lambda r: r["hits"], default=None)
    peak_hour = max(per_hour, key=lambda r: r["hits"], default=None)
    return {
        "start": datetime.fromtimestamp(start, tz).isoformat(),
        "end": datetime.fromtimestamp(end, tz).isoformat(),
        "hours": hours,
        "totals": totals,
        "per_10min": per10,
        "per_hour": per_hour,
        "per_day": per_day,
        "top_pages": _top(traffic.filter(pl.col("kind").is_in(["page", "estado"])), "path"),
        "top_assets": _top(traffic.filter(pl.col("kind") == "asset"), "path", 10),
        "top_referers": _top(refs.rename({"site": "sitio"}), "sitio"),
        "user_agents": _top(uas.filter(~pl.col("bot")), "ua"),
        "bots": _top(uas.filter(pl.col("bot")), "ua"),
        "bot_hits": bot_hits,
        "response_ms": _percentiles(rt),
        "response_ms_per_hour": _rt_per_hour(rt, cal, tz),
        "peak_10min": peak10,
        "peak_hour": peak_hour,
    }


def _kind_filter(field: str) -> pl.Expr:
    kind = {"pages": "page", "estado": "estado", "assets": "asset"}.get(field)
    if kind:
        return pl.col("kind") == kind
    if field.startswith("s") and field.endswith("xx"):
        return pl.col("status") // 100 == int(field[1])
    if field in ("s429", "s403"):
        return pl.col("status") == int(field[1:])
    return pl.lit(True)


def _col(field: str) -> str:
    return "bytes" if field == "bytes" else "hits"


def _rt_per_hour(rt: pl.DataFrame, cal: pl.DataFrame, tz: ZoneInfo) -> list[dict]:
    if rt.height == 0:
        return []
    rt = rt.join(cal, on="b")
    out = []
    for (hour,), part in sorted(rt.group_by("hour"), key=lambda kv: kv[0][0]):
        pc = _percentiles(part)
        out.append({"start": datetime.fromtimestamp(hour, tz).isoformat(), **pc})
    return out


def compare(window: dict, baseline: dict, baseline_days: int) -> dict:
    """Base VI: average visits/pages/hits of the usual portal vs during the PREP."""
    rows = []
    wt, bt = window["totals"], baseline["totals"]
    w_days = window["hours"] / 24
    per_day_base = {
        "visitas": sum(r["visitors"] for r in baseline["per_day"]) / max(baseline_days, 1),
        "paginas": bt["pages"] / max(baseline_days, 1),
        "hits": bt["hits"] / max(baseline_days, 1),
    }
    per_day_win = {
        # The window's distinct visitors, scaled to 24 h when the window is not one day long.
        "visitas": wt["visitors"] / w_days if w_days else 0,
        "paginas": wt["pages"] / w_days if w_days else 0,
        "hits": wt["hits"] / w_days if w_days else 0,
    }
    for name in ("visitas", "paginas", "hits"):
        b, w = per_day_base[name], per_day_win[name]
        rows.append({"medida": name, "promedio_diario_habitual": round(b, 1),
                     "promedio_diario_prep": round(w, 1),
                     "razon": round(w / b, 2) if b else None})
    bh = max(baseline["hours"], 1)
    wh = max(window["hours"], 1)
    hourly = {"hits_por_hora_habitual": round(bt["hits"] / bh, 1),
              "hits_por_hora_prep": round(wt["hits"] / wh, 1),
              "hora_pico_prep": window["peak_hour"]["start"] if window["peak_hour"] else None,
              "hits_hora_pico_prep": window["peak_hour"]["hits"] if window["peak_hour"] else 0,
              "hits_hora_pico_habitual": baseline["peak_hour"]["hits"]
              if baseline["peak_hour"] else 0}
    return {"baseline_days": baseline_days, "baseline_start": baseline["start"],
            "baseline_end": baseline["end"], "rows": rows, **hourly}
