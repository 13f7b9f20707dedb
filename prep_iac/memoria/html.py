"""report.html: one self-contained file (CSS inline, plots as base64 PNG), in Spanish."""

from __future__ import annotations

from datetime import datetime
from html import escape

from prep_iac.memoria import plots

CSS = """
body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;color:#222;padding:0 1em}
h1{font-size:1.6em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f3f3f3}
img{max-width:100%}.nota{color:#555;font-size:.85em}.mal{color:#b00}
"""


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


def table(headers: list[str], rows: list[list], numeric: set[int] = frozenset()) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(
            f'<td class="n">{escape(n(c))}</td>' if i in numeric else f"<td>{escape(str(c))}</td>"
            for i, c in enumerate(r)) + "</tr>"
        for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def figure(fig, alt: str) -> str:
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{plots.png_base64(fig)}">'


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
    ]


def render(data: dict, figures: dict) -> str:
    w = data["window"]
    parts = [(f"<!doctype html><html lang='es'><head><meta charset='utf-8'>"
              f"<title>Memoria técnica del difusor PREP</title><style>{CSS}</style></head><body>"),
             "<h1>Memoria técnica del difusor del PREP</h1>",
             (f"<p class='nota'>Generada el {when(data['generated'])} con prep-iac a partir de "
              f"las bitácoras del servidor web. Zona horaria: {escape(data['tz'])}.</p>"),
             "<h2>1. Resumen</h2>", table(["Concepto", "Valor"], summary_rows(data))]

    parts += ["<h2>2. Usuarios que consultaron</h2>",
              table(["Día", "Visitantes", "Páginas", "Hits", "GB"],
                    [[r["day"], r["visitors"], r["pages"], r["hits"], round(r["bytes"] / 1e9, 2)]
                     for r in w["per_day"]], {1, 2, 3, 4}),
              figure(figures["visitors"], "Visitantes por hora"),
              figure(figures["traffic"], "Tráfico por 10 minutos con cortes")]
    if data["cuts"]:
        parts.append(f"<p class='nota'>Cortes publicados en el periodo: {len(data['cuts'])} "
                     "(líneas rojas).</p>")
    parts += [table(["Hora", "Hits", "Páginas", "estado.json", "Visitantes", "429", "403", "5xx"],
                    [[when(r["start"]), r["hits"], r["pages"], r["estado"], r["visitors"],
                      r["s429"], r["s403"], r["s5xx"]] for r in w["per_hour"]],
                    {1, 2, 3, 4, 5, 6, 7}),
              figure(figures["status"], "Códigos de respuesta por hora")]

    parts.append("<h2>3. Incidentes que afectaron la publicación</h2>")
    affecting = [i for i in data["incidents"] if i["affects_publication"]]
    others = [i for i in data["incidents"] if not i["affects_publication"]]
    if affecting:
        parts.append(table(["Inicio", "Fin", "Duración", "Nodo", "Incidente", "Causa",
                            "Efecto en la publicación"],
                           [[when(i["start"]), when(i["end"]), duration(i["duration_s"]),
                             i["host"], i["label"], i["cause"], i["effect"]] for i in affecting]))
    else:
        parts.append("<p>No se registraron incidentes que afectaran la publicación.</p>")
    if others:
        kinds: dict[str, int] = {}
        for i in others:
            kinds[i["label"]] = kinds.get(i["label"], 0) + 1
        parts.append("<p>Otros eventos sin efecto en la publicación: " + ", ".join(
            f"{escape(k)}: {v}" for k, v in sorted(kinds.items())) + ".</p>")
    parts.append(figure(figures["timeline"], "Línea de tiempo de incidentes"))

    parts.append("<h2>4. Comparativo con el uso habitual del portal</h2>")
    c = data.get("comparison")
    if c:
        parts.append(f"<p>Línea base: {c['baseline_days']} días, {when(c['baseline_start'])} – "
                     f"{when(c['baseline_end'])}.</p>")
        parts.append(table(["Medida", "Promedio diario habitual", "Promedio diario PREP", "Razón"],
                           [[r["medida"], r["promedio_diario_habitual"], r["promedio_diario_prep"],
                             r["razon"]] for r in c["rows"]], {1, 2, 3}))
        parts.append(table(["Concepto", "Habitual", "PREP"], [
            ["Hits por hora (promedio)", c["hits_por_hora_habitual"], c["hits_por_hora_prep"]],
            ["Hits en la hora pico", c["hits_hora_pico_habitual"], c["hits_hora_pico_prep"]],
        ], {1, 2}))
    else:
        parts.append("<p>Sin línea base (use --baseline-logs o --baseline-days).</p>")

    parts.append("<h2>5. Lo más consultado</h2>")
    parts.append(table(["Página", "Hits"], [[r["value"], r["hits"]] for r in w["top_pages"]],
                       {1}))
    parts.append(table(["Sitio de referencia", "Hits"],
                       [[r["value"], r["hits"]] for r in w["top_referers"]], {1}))
    parts.append(table(["Navegador", "Hits"],
                       [[r["value"], r["hits"]] for r in w["user_agents"][:10]], {1}))
    parts.append(table(["Robot o programa", "Hits"],
                       [[r["value"], r["hits"]] for r in w["bots"][:10]], {1}))

    parts.append("<h2>6. Comentarios y sugerencias</h2><ul>")
    parts += [f"<li><b>{escape(s['tema'])}.</b> {escape(s['texto'])}</li>"
              for s in data["suggestions"]]
    parts.append("</ul>")

    if data.get("bundle"):
        parts.append("<h2>7. Bitácoras entregadas (SHA-256)</h2>")
        parts.append(table(["Archivo", "SHA-256"],
                           [[b["file"], b["sha256"]] for b in data["bundle"]]))
    parts.append(
        "<h2>Notas de método</h2><p class='nota'>Hit: toda solicitud registrada. Página: HTML y "
        "los datos que cargan las páginas (JSON, CSV, zip), sin imágenes de actas, hojas de "
        "estilo, scripts ni fuentes; estado.json se cuenta aparte. Visitante: par dirección IP + "
        "navegador (User-Agent), distinto en el periodo (y por día en la tabla diaria). Los "
        "tiempos de respuesta son percentiles aproximados (±5 %) de un histograma logarítmico. "
        "Los cortes se toman de las activaciones registradas por el servidor.</p></body></html>")
    return "\n".join(parts)
