"""Comments and suggestions for future calls (base VI), each derived from a number of the
report — never generic advice without a figure behind it."""

from __future__ import annotations

from datetime import datetime

from prep_iac import contract
from prep_iac.memoria.logformat import BUCKET_S


def _fmt(n: float) -> str:
    return f"{n:,.0f}".replace(",", " ")


def derive(window: dict, comparison: dict | None, incidents: list[dict], limits: dict,
           malformed: int, lines: int) -> list[dict]:
    """A list of {tema, texto, dato} in Spanish."""
    out = []
    tot = window["totals"]
    peak_h, peak10 = window.get("peak_hour"), window.get("peak_10min")
    if peak_h:
        hour = datetime.fromisoformat(peak_h["start"]).strftime("%d/%m %H:%M")
        out.append({"tema": "Hora pico", "dato": peak_h["hits"], "texto": (
            f"La hora de mayor demanda comenzó el {hour}: {_fmt(peak_h['hits'])} hits, "
            f"{_fmt(peak_h['pages'])} páginas y {_fmt(peak_h['visitors'])} visitantes. "
            "Dimensionar la próxima operación para esa hora, no para el promedio.")})
    if peak10:
        rps = peak10["hits"] / BUCKET_S
        rate = limits.get("rate_limit_rps")
        client_rps = peak10.get("max_client_hits", 0) / BUCKET_S
        text = (f"En los 10 minutos de mayor tráfico se atendieron {rps:,.1f} solicitudes/s en "
                "promedio.")
        if rate:
            busiest = max((r.get("max_client_hits", 0) for r in window["per_10min"]), default=0)
            share = 100 * busiest / BUCKET_S / rate
            text += (" El cliente más activo (dirección + navegador) promedió "
                     f"{busiest / BUCKET_S:.2f} "
                     f"solicitudes/s en sus 10 minutos de más actividad: {share:.0f} % del límite "
                     f"de {rate} solicitudes/s por dirección.")
        else:
            text += f" El cliente más activo promedió {client_rps:.2f} solicitudes/s."
        s429 = tot["s429"]
        share429 = 100 * s429 / max(tot["hits"], 1)
        text += f" Respuestas 429 (límite alcanzado): {_fmt(s429)} ({share429:.2f} % de los hits)."
        if share429 > 1:
            text += (" Es más de 1 %: revisar el límite (muchos usuarios detrás de una misma "
                     "dirección de un operador móvil, CGNAT) antes de la próxima elección.")
        out.append({"tema": "Límites de solicitudes", "dato": round(rps, 1), "texto": text})
        link = limits.get("link_mbps")
        mbps = peak10["bytes"] * 8 / BUCKET_S / 1e6
        busiest_bytes = max((r["bytes"] for r in window["per_10min"]), default=0)
        mbps = max(mbps, busiest_bytes * 8 / BUCKET_S / 1e6)
        text = f"El ancho de banda promedio de los 10 minutos más cargados fue {mbps:,.1f} Mbps"
        if link:
            pct = 100 * mbps / link
            text += f", {pct:.0f} % del enlace declarado de {link} Mbps."
            if pct > 70:
                text += (" Por encima de 70 %: contratar más capacidad o servir las imágenes de "
                         "actas desde una CDN.")
            else:
                text += " Hubo margen en el enlace."
        else:
            text += " (sin capacidad de enlace declarada: usar --link-mbps o link_mbps del inventario)."
        out.append({"tema": "Capacidad del enlace", "dato": round(mbps, 1), "texto": text})
    if comparison:
        visits = next((r for r in comparison["rows"] if r["medida"] == "visitas"), None)
        if visits and visits["razon"]:
            out.append({"tema": "Demanda frente al uso habitual", "dato": visits["razon"],
                        "texto": (f"Durante el PREP las visitas diarias fueron {visits['razon']}× "
                                  "las habituales del portal. Prever al menos ese múltiplo "
                                  "(con margen) en servidores y enlace.")})
    s5 = tot["s5xx"]
    if s5:
        pct = 100 * s5 / max(tot["hits"], 1)
        out.append({"tema": "Errores del servidor", "dato": s5, "texto": (
            f"{_fmt(s5)} respuestas 5xx ({pct:.2f} %)."
            + (" Revisar los incidentes de la lista y la capacidad del servidor."
               if pct > 0.5 else " Fueron marginales."))})
    rt = window.get("response_ms")
    if rt:
        text = (f"Tiempo de respuesta: mediana {rt['p50_ms']:.0f} ms, p95 {rt['p95_ms']:.0f} ms, "
                f"p99 {rt['p99_ms']:.0f} ms.")
        if rt["p95_ms"] > 1000:
            text += " El p95 superó 1 s: revisar disco, caché y número de procesos de nginx."
        out.append({"tema": "Tiempo de respuesta", "dato": rt["p95_ms"], "texto": text})
    if tot["hits"]:
        bots = 100 * window.get("bot_hits", 0) / tot["hits"]
        out.append({"tema": "Robots", "dato": round(bots, 1), "texto": (
            f"{bots:.1f} % de los hits fueron de robots y programas (buscadores, scripts)."
            + (" Ofrecer los datos abiertos (CSV/zip) reduce el raspado de páginas."
               if bots > 10 else ""))})
        estado = 100 * tot["estado"] / tot["hits"]
        out.append({"tema": "Consulta de estado.json", "dato": round(estado, 1), "texto": (
            f"estado.json representó {estado:.1f} % de los hits (cada página abierta lo consulta). "
            "Su caché corta es lo que mantiene ese costo bajo.")})
    affecting = [i for i in incidents if i["affects_publication"]]
    down = sum(i["duration_s"] or 0 for i in affecting
               if i["kind"] in (contract.NOTICE, "reinicio", "apagado"))
    out.append({"tema": "Incidentes", "dato": len(affecting), "texto": (
        f"{len(affecting)} incidentes afectaron la publicación"
        + (f"; tiempo total con aviso o nodo fuera: {down / 60:.0f} min." if down else ".")
    )})
    if malformed:
        out.append({"tema": "Calidad de las bitácoras", "dato": malformed, "texto": (
            f"{_fmt(malformed)} de {_fmt(lines)} líneas no tenían el formato esperado y se "
            "omitieron del conteo.")})
    return out
