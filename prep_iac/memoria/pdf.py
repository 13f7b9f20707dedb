"""report.pdf with matplotlib's PdfPages: text pages drawn as figures plus the same plots as
the HTML. Works without a browser."""

from __future__ import annotations

import textwrap
from pathlib import Path

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from prep_iac.memoria import html as h

A4 = (8.27, 11.69)
LINES_PER_PAGE = 62


def _text_pages(pdf: PdfPages, lines: list[str]) -> None:
    for i in range(0, max(len(lines), 1), LINES_PER_PAGE):
        fig = Figure(figsize=A4)
        fig.text(0.06, 0.96, "\n".join(lines[i:i + LINES_PER_PAGE]), va="top", ha="left",
                 family="monospace", fontsize=7.5)
        pdf.savefig(fig)


def _wrap(text: str, width: int = 100, indent: str = "  ") -> list[str]:
    return textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=indent + "  ")


def render(data: dict, figures: dict, path: Path) -> None:
    w = data["window"]
    lines = ["MEMORIA TÉCNICA DEL DIFUSOR DEL PREP", "",
             f"Generada: {h.when(data['generated'])}  Zona horaria: {data['tz']}", "",
             "1. RESUMEN"]
    lines += [f"  {k:<45} {v}" for k, v in h.summary_rows(data)]
    lines += ["", "2. USUARIOS QUE CONSULTARON (por día)",
              f"  {'Día':<12}{'Visitantes':>12}{'Páginas':>12}{'Hits':>12}"]
    lines += [f"  {r['day']:<12}{h.n(r['visitors']):>12}{h.n(r['pages']):>12}{h.n(r['hits']):>12}"
              for r in w["per_day"]]
    lines += ["", "3. INCIDENTES QUE AFECTARON LA PUBLICACIÓN"]
    affecting = [i for i in data["incidents"] if i["affects_publication"]]
    for i in affecting:
        lines += _wrap(f"{h.when(i['start'])} – {h.when(i['end'])} ({h.duration(i['duration_s'])})"
                       f" {i['host']} {i['label']}: {i['cause']}. Efecto: {i['effect']}.")
    if not affecting:
        lines.append("  Ninguno.")
    lines += ["", "4. COMPARATIVO CON EL USO HABITUAL DEL PORTAL"]
    c = data.get("comparison")
    if c:
        lines.append(f"  Línea base: {c['baseline_days']} días")
        lines.append(f"  {'Medida':<10}{'Habitual/día':>16}{'PREP/día':>16}{'Razón':>8}")
        lines += [f"  {r['medida']:<10}{h.n(r['promedio_diario_habitual']):>16}"
                  f"{h.n(r['promedio_diario_prep']):>16}{h.n(r['razon']):>8}" for r in c["rows"]]
    else:
        lines.append("  Sin línea base.")
    lines += ["", "5. PÁGINAS MÁS CONSULTADAS"]
    lines += [f"  {h.n(r['hits']):>12}  {r['value'][:80]}" for r in w["top_pages"][:15]]
    lines += ["", "6. COMENTARIOS Y SUGERENCIAS"]
    for s in data["suggestions"]:
        lines += _wrap(f"{s['tema']}. {s['texto']}")
    if data.get("bundle"):
        lines += ["", "7. BITÁCORAS ENTREGADAS (SHA-256)"]
        lines += [f"  {b['sha256']}  {b['file']}" for b in data["bundle"]]
    with PdfPages(path) as pdf:
        _text_pages(pdf, lines)
        for fig in figures.values():
            pdf.savefig(fig)
        info = pdf.infodict()
        info["Title"] = "Memoria técnica del difusor del PREP"
