"""The report's figures (matplotlib, Agg): the same Figure objects go to the HTML (as base64
PNG) and to the PDF."""

from __future__ import annotations

import base64
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

SIZE = (10, 3.6)


def _times(rows: list[dict]) -> list[datetime]:
    return [datetime.fromisoformat(r["start"]) for r in rows]


def _axis_time(ax, tz: ZoneInfo) -> None:
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d/%m %H:%M", tz=tz))
    ax.grid(alpha=0.3)
    for label in ax.get_xticklabels():
        label.set_rotation(30)
        label.set_ha("right")


def traffic(window: dict, cuts: list[float], notices: list[tuple[float, float]],
            tz: ZoneInfo) -> Figure:
    """Hits and pages per 10 minutes over the night, cut times and notices marked."""
    rows = window["per_10min"]
    fig, ax = plt.subplots(figsize=SIZE)
    t = _times(rows)
    ax.plot(t, [r["hits"] for r in rows], label="hits / 10 min", color="#1f77b4")
    ax.plot(t, [r["pages"] for r in rows], label="páginas / 10 min", color="#2ca02c")
    ax.plot(t, [r["estado"] for r in rows], label="estado.json / 10 min", color="#7f7f7f", lw=0.8)
    for i, c in enumerate(cuts):
        ax.axvline(datetime.fromtimestamp(c, tz), color="#d62728", lw=0.6, alpha=0.6,
                   label="corte publicado" if i == 0 else None)
    for i, (a, b) in enumerate(notices):
        ax.axvspan(datetime.fromtimestamp(a, tz), datetime.fromtimestamp(b, tz), color="orange",
                   alpha=0.3, label="aviso de interrupción" if i == 0 else None)
    ax.set_title("Tráfico durante la operación del PREP")
    ax.set_ylabel("solicitudes")
    _axis_time(ax, tz)
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig


def visitors(window: dict, tz: ZoneInfo) -> Figure:
    rows = window["per_hour"]
    fig, ax = plt.subplots(figsize=SIZE)
    ax.bar(_times(rows), [r["visitors"] for r in rows], width=1 / 24 * 0.9, align="edge",
           color="#9467bd")
    ax.set_title("Visitantes únicos por hora (dirección + navegador)")
    ax.set_ylabel("visitantes")
    _axis_time(ax, tz)
    fig.tight_layout()
    return fig


def status(window: dict, tz: ZoneInfo) -> Figure:
    rows = window["per_hour"]
    t = _times(rows)
    fig, ax = plt.subplots(figsize=SIZE)
    bottom = [0] * len(rows)
    colors = {"s2xx": "#2ca02c", "s3xx": "#1f77b4", "s4xx": "#ff7f0e", "s5xx": "#d62728"}
    for key, color in colors.items():
        vals = [r[key] for r in rows]
        ax.bar(t, vals, bottom=bottom, width=1 / 24 * 0.9, align="edge", color=color,
               label=key[1:])
        bottom = [a + b for a, b in zip(bottom, vals)]
    ax.plot([x for x in t], [r["s429"] + r["s403"] for r in rows], color="black", lw=1,
            label="429 + 403 (límite / filtro)")
    ax.set_title("Códigos de respuesta por hora")
    ax.set_ylabel("solicitudes")
    _axis_time(ax, tz)
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig


def timeline(incidents: list[dict], start: float, end: float, tz: ZoneInfo) -> Figure:
    """One row per incident kind; bars for intervals, ticks for instants."""
    kinds = sorted({i["label"] for i in incidents}) or ["(sin incidentes)"]
    fig, ax = plt.subplots(figsize=(SIZE[0], 0.5 + 0.45 * len(kinds) + 1))
    lo, hi = datetime.fromtimestamp(start, tz), datetime.fromtimestamp(end, tz)
    for i in incidents:
        y = kinds.index(i["label"])
        a = datetime.fromisoformat(i["start"]) if i["start"] else lo
        b = datetime.fromisoformat(i["end"]) if i["end"] else hi
        color = "#d62728" if i["affects_publication"] else "#7f7f7f"
        if (b - a).total_seconds() < 60:
            ax.plot([a], [y], marker="|", markersize=14, color=color)
        else:
            ax.barh(y, mdates.date2num(b) - mdates.date2num(a), left=mdates.date2num(a),
                    height=0.5, color=color)
    ax.set_yticks(range(len(kinds)), kinds, fontsize=8)
    ax.set_xlim(lo, hi)
    ax.set_title("Incidentes (rojo: afectaron la publicación)")
    _axis_time(ax, tz)
    fig.tight_layout()
    return fig


BASELINE_LABELS = {"visitas": "Visitas", "paginas": "Páginas", "hits": "Hits"}


def against_baseline(comparison: dict) -> Figure:
    """Base VI: the PREP's daily averages beside the portal's usual ones (log scale: the
    night may be orders of magnitude above a usual day)."""
    rows = comparison["rows"]
    fig, ax = plt.subplots(figsize=SIZE)
    x = range(len(rows))
    usual = [r["promedio_diario_habitual"] for r in rows]
    prep = [r["promedio_diario_prep"] for r in rows]
    ax.bar([i - 0.2 for i in x], usual, width=0.4, label="uso habitual del portal",
           color="#7f7f7f")
    ax.bar([i + 0.2 for i in x], prep, width=0.4, label="operación del PREP", color="#1f77b4")
    ax.set_xticks(list(x), [BASELINE_LABELS.get(r["medida"], r["medida"]) for r in rows])
    if min(v for v in usual + prep) > 0:
        ax.set_yscale("log")
    ax.set_ylabel("promedio diario")
    ax.set_title("Tráfico del PREP frente al uso habitual del portal")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def png_base64(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return base64.b64encode(buf.getvalue()).decode()


def close(fig: Figure) -> None:
    plt.close(fig)
