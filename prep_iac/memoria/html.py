"""report.html: one self-contained file (CSS inline, figures as SVG data: URLs), in Spanish, from
templates/report.html.j2 (autoescaped). report.pdf is this same HTML laid out for print
(pdf.py): there is one way to make the report."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import jinja2

from prep_iac.memoria import plots

TEMPLATES = Path(__file__).resolve().parent / "templates"


def n(x) -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        return f"{x:,.2f}".replace(",", " ")
    return f"{x:,}".replace(",", " ")


def when(iso: str | None) -> str:
    return datetime.fromisoformat(iso).strftime("%d/%m/%Y %H:%M") if iso else "—"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "abierto"
    if seconds == 0:
        return "—"  # a single event (a refused cut), not an interval
    m = round(seconds / 60)
    return f"{m // 60} h {m % 60:02d} min" if m >= 60 else f"{m} min"


def summary_rows(data: dict) -> list[list]:
    w, inp = data["window"], data["input"]
    t = w["totals"]
    rt = w.get("response_ms")
    return [
        ["Periodo", f"{when(w['start'])} – {when(w['end'])} ({data['tz']})"],
        ["Hits (solicitudes)", n(t["hits"])],
        ["Páginas (HTML y datos)", n(t["pages"])],
        ["Consultas a estado.json", n(t["estado"])],
        ["Visitantes únicos (dirección + navegador)", n(t["visitors"])],
        ["Visitantes únicos sumando por día", n(t["visitors_daily_sum"])],
        ["Datos transferidos", f"{t['bytes'] / 1e9:,.2f} GB"],
        ["Respuestas 429 (límite) / 403 (filtro)", f"{n(t['s429'])} / {n(t['s403'])}"],
        ["Respuestas 5xx", n(t["s5xx"])],
        ["Tiempo de respuesta p50 / p95 / p99",
         f"{rt['p50_ms']:.0f} / {rt['p95_ms']:.0f} / {rt['p99_ms']:.0f} ms" if rt
         else "no disponible (bitácora sin rt=)"],
        ["Líneas leídas / omitidas por formato",
         f"{n(inp['lines'])} / {n(inp['malformed'])}"],
    ] + [["Archivo dañado, leído sólo hasta el daño", damage]
         for damage in inp.get("damaged", [])]


def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters.update(n=n, when=when, duration=duration)
    return env


def context(data: dict, images: dict[str, str]) -> dict:
    """What the template reads: report.json's data, the figures as data: URLs, and the
    few things derived for display."""
    affecting = [i for i in data["incidents"] if i["affects_publication"]]
    others: dict[str, int] = {}
    for i in data["incidents"]:
        if not i["affects_publication"]:
            others[i["label"]] = others.get(i["label"], 0) + 1
    return {"d": data, "img": images, "summary": summary_rows(data), "affecting": affecting,
            "others": sorted(others.items())}


def render(data: dict, figures: dict[str, str]) -> str:
    """report.html's text; `figures` maps traffic/visitors/status/timeline (and baseline) to
    SVG (plots.py)."""
    images = {k: plots.data_url(svg) for k, svg in figures.items()}
    return _env().get_template("report.html.j2").render(**context(data, images))
