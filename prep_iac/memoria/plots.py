"""The report's figures, as SVG written here: the same image in report.html (a data: URL) and
in report.pdf (WeasyPrint draws it as vectors). Drawn from report.json's series only.

A few line, bar and interval charts need no plotting library: writing them directly takes
milliseconds, where importing and rendering matplotlib took about a second of the report.
Every text that comes from the data (incident labels) is XML-escaped where it lands.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field
from datetime import datetime
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

WIDTH, HEIGHT = 1000, 360  # px; the page scales the image to its width
FONT = "DejaVu Sans, Verdana, sans-serif"
TICK_PT, LABEL_PT, TITLE_PT = 12, 13, 16  # px in the 1000-px-wide figure
CHAR_W = 0.62 * TICK_PT  # DejaVu Sans' mean advance, to size the legend and the row labels
HOUR = 3600
QUARTER = 900
# Time-axis tick steps (hours) and the most ticks wanted.
TICK_HOURS = (1, 2, 3, 4, 6, 12, 24, 48, 24 * 7)
MAX_TICKS = 12
# A figure's legend, top right: (label, colour, "line" or "box").
Legend = list[tuple[str, str, str]]


def _n(x: float) -> str:
    """Axis numbers: thin-space thousands, as the report's tables."""
    if x == int(x):
        return f"{int(x):,}".replace(",", " ")
    return f"{x:,.1f}".replace(",", " ")


def _attr(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """0 and round steps (1, 2, 2.5, 5 x 10^k) up to at least `top`."""
    if top <= 0:
        return [0, 1]
    raw = top / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    n = math.ceil(top / step - 1e-9)
    return [i * step for i in range(n + 1)]


def time_ticks(start: float, end: float, tz: ZoneInfo) -> list[float]:
    """Epochs of round local hours between start and end, at most MAX_TICKS of them."""
    span_h = (end - start) / HOUR
    step = next((h for h in TICK_HOURS if span_h / h <= MAX_TICKS), TICK_HOURS[-1])
    out = []
    # Every quarter hour in epoch time (zones with :30 and :45 offsets, DST changes), kept
    # when it is a multiple of the step in local time (00:00, 06:00 ... for 6 h).
    for t in range(int(start) - int(start) % QUARTER, int(end) + 1, QUARTER):
        local = datetime.fromtimestamp(t, tz)
        if start <= t and local.minute == 0 and (local.hour + 24 * local.toordinal()) % step == 0:
            out.append(float(t))
    return out


@dataclass
class Chart:
    """One figure: a plot area with a time (or category) x axis and a linear or log y axis."""

    title: str
    ylabel: str = ""
    height: int = HEIGHT
    left: int = 78
    right: int = 16
    top: int = 34
    bottom: int = 72
    parts: list[str] = field(default_factory=list)

    # x: data units set by the caller (epochs or category positions); y: values.
    x0: float = 0.0
    x1: float = 1.0
    y0: float = 0.0
    y1: float = 1.0
    log: bool = False

    @property
    def plot_w(self) -> float:
        return WIDTH - self.left - self.right

    @property
    def plot_h(self) -> float:
        return self.height - self.top - self.bottom

    def x(self, v: float) -> float:
        return self.left + (v - self.x0) / ((self.x1 - self.x0) or 1) * self.plot_w

    def y(self, v: float) -> float:
        if self.log:
            lo, hi = math.log10(self.y0), math.log10(self.y1)
            v = math.log10(max(v, self.y0))
        else:
            lo, hi = self.y0, self.y1
        return self.top + self.plot_h - (v - lo) / ((hi - lo) or 1) * self.plot_h

    def add(self, element: str) -> None:
        self.parts.append(element)

    def text(self, x: float, y: float, s: str, size: float = TICK_PT, anchor: str = "middle",
             extra: str = "") -> None:
        self.add(f'<text x="{_attr(x)}" y="{_attr(y)}" font-size="{size}" '
                 f'text-anchor="{anchor}"{extra}>{escape(s)}</text>')

    def line(self, xa: float, ya: float, xb: float, yb: float, color: str, width: float = 1,
             extra: str = "") -> None:
        self.add(f'<line x1="{_attr(xa)}" y1="{_attr(ya)}" x2="{_attr(xb)}" y2="{_attr(yb)}" '
                 f'stroke="{color}" stroke-width="{width}"{extra}/>')

    def rect(self, x: float, y: float, w: float, h: float, color: str, extra: str = "") -> None:
        self.add(f'<rect x="{_attr(x)}" y="{_attr(y)}" width="{_attr(max(w, 0))}" '
                 f'height="{_attr(max(h, 0))}" fill="{color}"{extra}/>')

    def polyline(self, points: list[tuple[float, float]], color: str, width: float = 1.5) -> None:
        if not points:
            return
        pts = " ".join(f"{_attr(self.x(a))},{_attr(self.y(b))}" for a, b in points)
        self.add(f'<polyline points="{pts}" fill="none" stroke="{color}" '
                 f'stroke-width="{width}" stroke-linejoin="round"/>')

    def y_axis(self, ticks: list[float]) -> None:
        """Grid lines and labels at `ticks`, the y label, the plot's frame."""
        for v in ticks:
            py = self.y(v)
            self.line(self.left, py, self.left + self.plot_w, py, "#ccc", 0.8)
            self.text(self.left - 6, py + 4, _n(v), TICK_PT, "end")
        if self.ylabel:
            cy = self.top + self.plot_h / 2
            self.text(16, cy, self.ylabel, LABEL_PT,
                      extra=f' transform="rotate(-90 16 {_attr(cy)})"')

    def time_axis(self, tz: ZoneInfo) -> None:
        """Labels (dd/mm HH:MM in the report's zone, slanted) and grid at round hours."""
        base = self.top + self.plot_h
        for t in time_ticks(self.x0, self.x1, tz):
            px = self.x(t)
            self.line(px, self.top, px, base, "#e4e4e4", 0.8)
            self.line(px, base, px, base + 4, "#444", 0.8)
            label = datetime.fromtimestamp(t, tz).strftime("%d/%m %H:%M")
            self.text(px, base + 16, label, TICK_PT, "end",
                      f' transform="rotate(-30 {_attr(px)} {_attr(base + 16)})"')

    def legend(self, entries: Legend) -> None:
        if not entries:
            return
        width = max(len(label) for label, _, _ in entries) * CHAR_W + 34
        x = self.left + self.plot_w - width - 6
        y = self.top + 6
        self.rect(x, y, width, 17 * len(entries) + 6, "white",
                  ' fill-opacity="0.85" stroke="#ccc" stroke-width="0.8"')
        for i, (label, color, kind) in enumerate(entries):
            cy = y + 15 + 17 * i
            if kind == "line":
                self.line(x + 6, cy - 3, x + 24, cy - 3, color, 2)
            else:
                self.rect(x + 8, cy - 9, 14, 10, color, ' fill-opacity="0.8"' if kind == "span"
                          else "")
            self.text(x + 30, cy, label, TICK_PT, "start")

    def svg(self) -> str:
        frame = (f'<rect x="{self.left}" y="{self.top}" width="{_attr(self.plot_w)}" '
                 f'height="{_attr(self.plot_h)}" fill="none" stroke="#444" stroke-width="0.8"/>')
        title = (f'<text x="{WIDTH / 2:.0f}" y="22" font-size="{TITLE_PT}" text-anchor="middle">'
                 f"{escape(self.title)}</text>")
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{self.height}" '
                f'viewBox="0 0 {WIDTH} {self.height}" font-family="{FONT}" fill="#222">'
                f'<rect width="{WIDTH}" height="{self.height}" fill="white"/>'
                + title + "".join(self.parts) + frame + "</svg>")


def _epochs(rows: list[dict]) -> list[float]:
    return [datetime.fromisoformat(r["start"]).timestamp() for r in rows]


def _time_chart(title: str, ylabel: str, rows: list[dict], step: float, top: float,
                tz: ZoneInfo) -> tuple[Chart, list[float]]:
    t = _epochs(rows)
    c = Chart(title, ylabel)
    c.x0, c.x1 = (t[0], t[-1] + step) if t else (0, 1)
    ticks = nice_ticks(top)
    c.y0, c.y1 = 0, ticks[-1]
    c.y_axis(ticks)
    c.time_axis(tz)
    return c, t


def traffic(window: dict, cuts: list[float], notices: list[tuple[float, float]],
            tz: ZoneInfo) -> str:
    """Hits and pages per 10 minutes over the night, cut times and notices marked."""
    rows = window["per_10min"]
    top = max((r["hits"] for r in rows), default=0)
    c, t = _time_chart("Tráfico durante la operación del PREP", "solicitudes", rows, 600,
                       top, tz)
    legend: Legend = []
    for a, b in notices:
        a, b = max(a, c.x0), min(b, c.x1)
        c.rect(c.x(a), c.top, c.x(b) - c.x(a), c.plot_h, "orange", ' fill-opacity="0.3"')
    for cut in cuts:
        c.line(c.x(cut), c.top, c.x(cut), c.top + c.plot_h, "#d62728", 0.8,
               ' stroke-opacity="0.6"')
    # Each 10-minute sum drawn at its bucket's start, as the series are keyed.
    for key, label, color, width in (("hits", "hits / 10 min", "#1f77b4", 1.5),
                                     ("pages", "páginas / 10 min", "#2ca02c", 1.5),
                                     ("estado", "estado.json / 10 min", "#7f7f7f", 1)):
        c.polyline(list(zip(t, (r[key] for r in rows))), color, width)
        legend.append((label, color, "line"))
    if cuts:
        legend.append(("corte publicado", "#d62728", "line"))
    if notices:
        legend.append(("aviso de interrupción", "orange", "span"))
    c.legend(legend)
    return c.svg()


def _hour_bars(c: Chart, t: list[float], values: list[float], bottoms: list[float],
               color: str) -> None:
    for start, v, b in zip(t, values, bottoms):
        if v:
            top = c.y(b + v)
            c.rect(c.x(start), top, c.x(start + HOUR * 0.9) - c.x(start), c.y(b) - top, color)


def visitors(window: dict, tz: ZoneInfo) -> str:
    rows = window["per_hour"]
    vals = [r["visitors"] for r in rows]
    c, t = _time_chart("Visitantes únicos por hora (dirección + navegador)", "visitantes",
                       rows, HOUR, max(vals, default=0), tz)
    _hour_bars(c, t, vals, [0] * len(vals), "#9467bd")
    return c.svg()


STATUS_COLORS = {"s2xx": "#2ca02c", "s3xx": "#1f77b4", "s4xx": "#ff7f0e", "s5xx": "#d62728"}


def status(window: dict, tz: ZoneInfo) -> str:
    """Answers per hour by class, stacked; the 429 + 403 line over them."""
    rows = window["per_hour"]
    totals = [sum(r[k] for k in STATUS_COLORS) for r in rows]
    c, t = _time_chart("Códigos de respuesta por hora", "solicitudes", rows, HOUR,
                       max(totals, default=0), tz)
    bottom = [0] * len(rows)
    legend: Legend = []
    for key, color in STATUS_COLORS.items():
        vals = [r[key] for r in rows]
        _hour_bars(c, t, vals, bottom, color)
        bottom = [a + b for a, b in zip(bottom, vals)]
        legend.append((key[1:], color, "box"))
    c.polyline([(a + HOUR * 0.45, r["s429"] + r["s403"]) for a, r in zip(t, rows)], "black", 1)
    legend.append(("429 + 403 (límite / filtro)", "black", "line"))
    c.legend(legend)
    return c.svg()


def timeline(incidents: list[dict], start: float, end: float, tz: ZoneInfo) -> str:
    """One row per incident kind; bars for intervals, ticks for instants."""
    kinds = sorted({i["label"] for i in incidents}) or ["(sin incidentes)"]
    height = int(34 + 40 * len(kinds) + 72)
    c = Chart("Incidentes (rojo: afectaron la publicación)", height=height,
              left=min(20 + CHAR_W * max(len(k) for k in kinds), 330))
    c.x0, c.x1 = start, end
    row_h = c.plot_h / len(kinds)
    c.time_axis(tz)
    for n, label in enumerate(kinds):
        cy = c.top + row_h * (n + 0.5)
        c.text(c.left - 6, cy + 4, label, TICK_PT, "end")
    for i in incidents:
        cy = c.top + row_h * (kinds.index(i["label"]) + 0.5)
        a = datetime.fromisoformat(i["start"]).timestamp() if i["start"] else start
        b = datetime.fromisoformat(i["end"]).timestamp() if i["end"] else end
        a, b = max(a, start), min(b, end)
        color = "#d62728" if i["affects_publication"] else "#7f7f7f"
        if b - a < 60:
            c.line(c.x(a), cy - 9, c.x(a), cy + 9, color, 2)
        else:
            c.rect(c.x(a), cy - row_h * 0.25, c.x(b) - c.x(a), row_h * 0.5, color)
    return c.svg()


BASELINE_LABELS = {"visitas": "Visitas", "paginas": "Páginas", "hits": "Hits"}


def against_baseline(comparison: dict) -> str:
    """Base VI: the PREP's daily averages beside the portal's usual ones (log scale: the
    night may be orders of magnitude above a usual day)."""
    rows = comparison["rows"]
    usual = [r["promedio_diario_habitual"] for r in rows]
    prep = [r["promedio_diario_prep"] for r in rows]
    c = Chart("Tráfico del PREP frente al uso habitual del portal", "promedio diario",
              bottom=40)
    c.x0, c.x1 = -0.6, len(rows) - 0.4
    values = usual + prep
    if values and min(values) > 0:
        c.log = True
        lo = 10 ** math.floor(math.log10(min(values)))
        hi = 10 ** math.ceil(math.log10(max(values)))
        c.y0, c.y1 = lo, hi if hi > lo else lo * 10
        ticks = [10 ** k for k in range(round(math.log10(c.y0)), round(math.log10(c.y1)) + 1)]
    else:
        ticks = nice_ticks(max(values, default=0))
        c.y0, c.y1 = 0, ticks[-1]
    c.y_axis(ticks)
    base = c.top + c.plot_h
    for i, r in enumerate(rows):
        for dx, v, color in ((-0.2, usual[i], "#7f7f7f"), (0.2, prep[i], "#1f77b4")):
            if v > 0:
                c.rect(c.x(i + dx - 0.2), c.y(v), c.x(i + dx + 0.2) - c.x(i + dx - 0.2),
                       base - c.y(v), color)
        c.text(c.x(i), base + 20, BASELINE_LABELS.get(r["medida"], r["medida"]), LABEL_PT)
    c.legend([("uso habitual del portal", "#7f7f7f", "box"),
              ("operación del PREP", "#1f77b4", "box")])
    return c.svg()


def data_url(svg: str) -> str:
    """The figure as the `src` of an <img>: nothing in it is fetched or run."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
