"""The static site the difusores serve: pages, their JSON and the stylesheet.

Rendered from the very rows of the CSV, so the site and the database package can never
disagree. No scripts, no web fonts, no external links: every link is relative and stays
inside the cut folder. The pages are complete without JavaScript; the JSON beside them
carries the same data for anyone who wants to build on it.
"""

import json
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from prep_iac.corte import catalogue as cat
from prep_iac.corte import summary, timing

COLORS = {
    "PAN": "#0b4ea2", "PRI": "#d4242a", "PRD": "#f2c400", "PT": "#c8102e", "PVEM": "#4aa436",
    "UDC": "#f28c28", "MC": "#ff8300", "MORENA": "#8e1b3c", "PES": "#5b2c83",
    "RSP": "#2b2b2b", "FXM": "#e6007e", "PRI_PRD": "#b45309", "CAND_IND_1": "#6b7280",
    "NO_REGISTRADOS": "#999999", "NULOS": "#bbbbbb",
}
NAMES = {
    "PAN": "Partido Acción Nacional", "PRI": "Partido Revolucionario Institucional",
    "PRD": "Partido de la Revolución Democrática", "PT": "Partido del Trabajo",
    "PVEM": "Partido Verde Ecologista de México", "UDC": "Unidad Democrática de Coahuila",
    "MC": "Movimiento Ciudadano", "MORENA": "Morena", "PES": "Partido Encuentro Solidario",
    "RSP": "Redes Sociales Progresistas", "FXM": "Fuerza por México",
    "PRI_PRD": "Coalición PRI–PRD (combinación)", "CAND_IND_1": "Candidatura independiente",
}
MESES = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
         "septiembre", "octubre", "noviembre", "diciembre"]

_env: Environment | None = None


def env() -> Environment:
    global _env
    if _env is None:
        _env = Environment(loader=PackageLoader("prep_iac.corte", "templates"),
                           autoescape=True, undefined=StrictUndefined, trim_blocks=True,
                           lstrip_blocks=True)
        _env.filters["miles"] = lambda n: f"{int(n):,}"
    return _env


def municipio_page(mid: int) -> str:
    return f"municipio_{mid:02d}.html"


def _fecha(at: datetime) -> str:
    return (f"{at.day} de {MESES[at.month - 1]} de {at.year}, {at:%H:%M} h "
            f"({timing.utc_offset_label(at)})")


def _css() -> str:
    """The stylesheet plus one class per party colour and per bar width: the pages carry
    no inline styles, so they work under a strict Content-Security-Policy too."""
    base = (Path(__file__).parent / "templates" / "estilo.css").read_text("utf-8")
    colors = "".join(f".c-{k}{{background:{v}}}\n" for k, v in COLORS.items())
    widths = "".join(f".w-{n}{{width:{n}%}}\n" for n in range(101))
    return base + colors + widths


def _entry(clave: str, nombre: str, votes: int, grand: int) -> dict:
    return {"clave": clave, "nombre": nombre, "votos": votes,
            "porcentaje": summary.trunc4(votes, grand),
            "ancho": votes * 100 // grand if grand else 0}


def _results(rows: list[dict[str, str]]) -> list[dict]:
    totals = summary.totals_by_column(rows, cat.VOTE_COLUMNS)
    counted = [r for r in rows if r.get("CONTABILIZADA") == cat.CONTABILIZADA_SI]
    nulos = sum(summary.as_int(r["NULOS"]) for r in counted)
    noreg = sum(summary.as_int(r["NO_REGISTRADOS"]) for r in counted)
    grand = sum(totals.values()) + nulos + noreg
    out = [_entry(col, NAMES.get(col, col), votes, grand)
           for col, votes in sorted(totals.items(), key=lambda kv: -kv[1])]
    out.append(_entry("NO_REGISTRADOS", "Candidaturas no registradas", noreg, grand))
    out.append(_entry("NULOS", "Votos nulos", nulos, grand))
    return out


def _acta_view(r: dict[str, str], images: bool) -> dict:
    captured = bool(r.get("FECHA_HORA_CAPTURA"))
    casilla = f"{r['TIPO_CASILLA']}{int(r['ID_CASILLA']):02d}"
    if r["EXT_CONTIGUA"] not in ("", "0"):
        casilla += f"C{int(r['EXT_CONTIGUA']):02d}"
    return {
        "clave": r["CLAVE_ACTA"].strip("'"),
        "seccion": r["SECCION"],
        "casilla": casilla,
        "capturada": captured,
        "contabilizada": r["CONTABILIZADA"],
        "observaciones": r["OBSERVACIONES"],
        "votos": {c: r[c] for c in cat.VOTE_COLUMNS + ["NO_REGISTRADOS", "NULOS"]} if captured else {},
        "total": r["TOTAL_VOTOS_CALCULADO"],
        "lista_nominal": r["LISTA_NOMINAL"],
        "imagen": f"actas/{r['CLAVE_ACTA'].strip(chr(39))}.png" if images and r.get("SHA") else None,
        "sha256": r.get("SHA") or None,
    }


# An acta's row never changes once published, so its HTML and JSON view are made once per
# process and reused by every later cut (keyed by the row's whole content).
_ROW_CACHE: dict[tuple, tuple[dict, Markup]] = {}
VOTE_CELLS = cat.VOTE_COLUMNS + ["NO_REGISTRADOS", "NULOS"]


def _row_html(a: dict) -> Markup:
    if not a["capturada"]:
        return Markup(
            f'<tr class="pendiente"><td>{escape(a["seccion"])}</td><td>{escape(a["casilla"])}</td>'
            f'<td colspan="{len(VOTE_CELLS) + 2}">Acta aún no capturada</td><td></td></tr>\n')
    cls = "" if a["contabilizada"] == "1" else ' class="no-contab"'
    cells = "".join(f'<td class="num">{escape(a["votos"][c])}</td>' for c in VOTE_CELLS)
    link = f'<a href="{escape(a["imagen"])}">Ver</a>' if a["imagen"] else ""
    return Markup(
        f'<tr{cls}><td>{escape(a["seccion"])}</td><td>{escape(a["casilla"])}</td>{cells}'
        f'<td class="num">{escape(a["total"])}</td><td>{escape(a["observaciones"])}</td>'
        f"<td>{link}</td></tr>\n")


def _acta(r: dict[str, str], images: bool) -> tuple[dict, Markup]:
    key = (images, *r.values())
    hit = _ROW_CACHE.get(key)
    if hit is None:
        view = _acta_view(r, images)
        hit = (view, _row_html(view))
        if len(_ROW_CACHE) > 200_000:
            _ROW_CACHE.clear()
        _ROW_CACHE[key] = hit
    return hit


def render_site(folder: Path, cut_id: str, at: datetime, rows: list[dict[str, str]],
                head: dict[str, str], zip_name: str, images: bool = True) -> list[Path]:
    """Write every page, the JSON and the stylesheet into ``folder``; return their paths.
    Without ``images`` the pages do not link to acta images (the SHA stays in the JSON)."""
    written: list[Path] = []
    datos = folder / "datos"
    datos.mkdir(exist_ok=True)
    by_mun: dict[int, list[dict[str, str]]] = {}
    for r in rows:
        by_mun.setdefault(int(r["ID_MUNICIPIO"]), []).append(r)
    municipios = []
    for mid, name, _ in cat.MUNICIPIOS:
        mrows = [r for r in by_mun.get(mid, []) if r["CONTABILIZADA"] != cat.CONTABILIZADA_FUERA]
        mhead = summary.compute(mrows)
        municipios.append({"id": mid, "nombre": name, "pagina": municipio_page(mid),
                           "datos": f"datos/municipio_{mid:02d}.json", "resumen": mhead,
                           "rows": mrows})
    common = {"cut_id": cut_id, "fecha": _fecha(at), "corte": timing.cut_line(at),
              "zip": zip_name, "campos": cat.SUMMARY_FIELDS}
    resumen = {"corte": cut_id, "fecha_hora": at.isoformat(), "linea_corte": timing.cut_line(at),
               "resumen": head, "resultados": _results(rows),
               "municipios": [{"id": m["id"], "nombre": m["nombre"], "pagina": m["pagina"],
                               "datos": m["datos"], "resumen": m["resumen"]} for m in municipios]}
    _write_json(datos / "resumen.json", resumen, written)
    page = env().get_template("index.html.j2").render(
        resumen=head, resultados=resumen["resultados"], municipios=municipios, **common)
    _write_text(folder / "index.html", page, written)
    tpl = env().get_template("municipio.html.j2")
    for m in municipios:
        views = [_acta(r, images) for r in m["rows"]]
        data = {"corte": cut_id, "municipio": m["nombre"], "id_municipio": m["id"],
                "resumen": m["resumen"], "resultados": _results(m["rows"]),
                "actas": [v for v, _ in views]}
        _write_json(folder / m["datos"], data, written)
        page = tpl.render(m=m, resumen=m["resumen"], resultados=data["resultados"],
                          filas=Markup("").join(h for _, h in views),
                          columnas=cat.VOTE_COLUMNS, **common)
        _write_text(folder / m["pagina"], page, written)
    _write_text(folder / "estilo.css", _css(), written)
    return written


def _write_json(path: Path, data, written: list[Path]) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), "utf-8")
    written.append(path)


def _write_text(path: Path, text: str, written: list[Path]) -> None:
    path.write_text(text, "utf-8")
    written.append(path)
