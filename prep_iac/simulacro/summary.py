"""The drill's one summary: simulacro.json (every number) and simulacro.html (for people)."""

import json
import statistics
from pathlib import Path

import jinja2

from prep_iac.paths import TEMPLATES_DIR


def delay_stats(cuts: list[dict]) -> dict:
    delays = [d for cut in cuts for d in cut["delays"].values() if d is not None]
    if not delays:
        return {"n": 0}
    ordered = sorted(delays)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"n": len(delays), "median_s": round(statistics.median(delays), 2),
            "p95_s": round(p95, 2), "max_s": round(max(delays), 2)}


def propagation(cuts: list[dict]) -> dict:
    """Every delivery's delay, and the same split by whether a conformance run was working
    on the difusores meanwhile (`checks_running`, run.py): in the lab both share one
    machine's cores, so the split says what the night costs alone."""
    stats = delay_stats(cuts)
    if any("checks_running" in cut for cut in cuts):
        stats["during_checks"] = delay_stats([c for c in cuts if c.get("checks_running")])
        stats["without_checks"] = delay_stats([c for c in cuts if not c.get("checks_running")])
    return stats


def mark_checks_running(cuts: list[dict], windows: list[tuple[float, float]],
                        period_s: float) -> None:
    """Mark each cut whose way to the difusores (from its production until its last delivery,
    or one period when none was seen) overlapped a conformance run's [start, end]."""
    for cut in cuts:
        seen = [d for d in cut["delays"].values() if d is not None]
        start = cut["produced_at"]
        end = start + (max(seen) if seen else period_s)
        cut["checks_running"] = any(start < w_end and w_start < end for w_start, w_end in windows)


def write(results: dict, out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    results = dict(results, propagation=propagation(results.get("cuts", [])))
    json_path = out / "simulacro.json"
    json_path.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str))
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES_DIR / "simulacro"),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    html_path = out / "simulacro.html"
    html_path.write_text(env.get_template("simulacro.html.j2").render(r=results))
    return json_path, html_path
