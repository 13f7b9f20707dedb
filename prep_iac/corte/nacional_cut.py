"""Writing a national cut: one package per election, and a site that links them all.

``out_dir/<cut-id>/`` (cut id ``20240602_2000_PREP_FED``):

    index.html, estilo.css          the elections of the cut, each with its package
    datos/elecciones.json           per election: CSV, zip, its SHA-256 and size, summary
    <cut-id>_PRES.zip …             PRES_2024.csv + LEEME.txt, one zip per election
    PRES/index.html                 results, summary and the 32 entities
    PRES/entidad_NN.html            results of the entity and its districts
    PRES/datos/*.json, PRES/estilo.css

The zips lie right in the cut's folder, so the publisher reads the cut's time from them
(onhost/publisher/cutdata.py) exactly as for a Coahuila cut. Built in a temporary folder
and renamed into place, like every cut (cut.py).
"""

import hashlib
import json
import os
import shutil
from datetime import datetime
from pathlib import Path

from prep_iac.corte import cut, package, site, summary, timing
from prep_iac.corte import nacional_catalogue as nat
from prep_iac.corte.catalogue import SUMMARY_FIELDS
from prep_iac.corte.csvwriter import DELIMITERS, NEWLINES, CsvFormat
from prep_iac.corte.nacional import ACTA_HEADER, ElectionNight, NationalElection, cut_id

INDEX_JSON = "datos/elecciones.json"
VOTE_CELLS = nat.VOTE_COLUMNS + ["NO_REGISTRADOS", "NULOS"]
EXTRA_COLORS = {"PAN_PRI_PRD": "#1e3a8a", "PVEM_PT_MORENA": "#6d1a36"}

LEEME_TEXT = """\
PROGRAMA DE RESULTADOS ELECTORALES PRELIMINARES
PREP FEDERAL {year} - {line}
Corte de información: {corte}

*** SIMULACRO: datos ficticios generados por prep-iac para pruebas y ensayos. ***

Contenido del paquete
  {csv}: una fila por cada acta esperada de la elección, más las actas fuera de
    catálogo registradas.
  LEEME.txt: este archivo.
Cada elección del corte se publica en su propio paquete ({elecciones}).

Estructura de {csv}
  Línea 1: elección ({line}).
  Línea 2: fecha y hora del corte, con su desfase respecto de UTC.
  Línea 3: nombres de los 13 campos del resumen; línea 4: sus valores.
  Línea 5: en blanco.
  Línea 6: encabezado de las actas; de la línea 7 en adelante, una fila por acta.

Los campos del resumen y de las actas se calculan como en el PREP local: porcentajes
con cuatro decimales truncados; CONTABILIZADA 1 contabilizada, 0 no contabilizada,
2 fuera de catálogo; ILEGIBLE o SIN DATO cuentan como cero. TIPO_ACTA {tipo} ({tipo}E en
casillas especiales). SHA: código SHA-256 de la imagen del acta (las imágenes no forman
parte de este paquete).
"""


def leeme(night: ElectionNight, at: datetime, codes: list[str]) -> str:
    return LEEME_TEXT.format(year=nat.YEAR, line=night.line, corte=timing.cut_line(at),
                             csv=night.csv_name, elecciones=", ".join(codes),
                             tipo=night.tipo_acta)


def zip_name(cid: str, code: str) -> str:
    return f"{cid}_{code}.zip"


class Tally:
    """The 13 summary fields' counters for one place (nation, entity or district)."""

    __slots__ = ("capturadas", "contab", "esperadas", "fuera", "inconsist", "ln", "votos_c",
                 "votos_s")

    def __init__(self):
        self.esperadas = self.fuera = self.capturadas = self.contab = 0
        self.inconsist = self.ln = self.votos_c = self.votos_s = 0

    def add(self, other: "Tally") -> None:
        for k in self.__slots__:
            setattr(self, k, getattr(self, k) + getattr(other, k))

    def fields(self) -> dict[str, str]:
        """As summary.compute gives them from the rows (check.py recomputes them so)."""
        e, c = self.esperadas, self.capturadas
        return {
            "ACTAS_ESPERADAS": str(e), "ACTAS_REGISTRADAS": str(c + self.fuera),
            "ACTAS_FUERA_CATALOGO": str(self.fuera), "ACTAS_CAPTURADAS": str(c),
            "PORCENTAJE_ACTAS_CAPTURADAS": summary.trunc4(c, e),
            "ACTAS_CONTABILIZADAS": str(self.contab),
            "PORCENTAJE_ACTAS_CONTABILIZADAS": summary.trunc4(self.contab, e),
            "PORCENTAJE_ACTAS_INCONSISTENCIAS": summary.trunc4(self.inconsist, e),
            "ACTAS_NO_CONTABILIZADAS": str(c - self.contab),
            "LISTA_NOMINAL_ACTAS_CONTABILIZADAS": str(self.ln),
            "TOTAL_VOTOS_C_CS": str(self.votos_c), "TOTAL_VOTOS_S_CS": str(self.votos_s),
            "PORCENTAJE_PARTICIPACION_CIUDADANA": summary.trunc4(self.votos_s, self.ln),
        }


def _tallies(nation: NationalElection, night: ElectionNight, s: float):
    """(published flags per acta, district tallies, counted acta indices per entity)."""
    dist, ln, esp = nation.casilla_district, nation.casilla_ln, nation.casilla_especial
    verif, flags, total = night.verif, night.flags, night.total
    tallies = [Tally() for _ in nation.districts]
    counted: dict[int, list[int]] = {eid: [] for eid, _, _ in nat.ENTIDADES}
    published = [0 <= v <= s for v in verif]
    for i, d in enumerate(dist):
        t = tallies[d]
        t.esperadas += 1
        if not published[i]:
            continue
        t.capturadas += 1
        f = flags[i]
        if f & 1:
            t.inconsist += 1
        if f & 2:
            t.contab += 1
            t.ln += ln[i]
            t.votos_c += total[i]
            if not esp[i]:
                t.votos_s += total[i]
            counted[nation.districts[d].entidad_id].append(i)
    return published, tallies, counted


def _results(night: ElectionNight, indices: list[int]) -> list[dict]:
    sums = [sum(map(col.__getitem__, indices)) for col in night.votes]
    grand = sum(sums)
    parties = sorted(zip(nat.VOTE_COLUMNS, sums), key=lambda kv: -kv[1])
    out = [_entry(k, site.NAMES.get(k, k.replace("_", "–")), v, grand) for k, v in parties]
    out.append(_entry("NO_REGISTRADOS", "Candidaturas no registradas", sums[-2], grand))
    out.append(_entry("NULOS", "Votos nulos", sums[-1], grand))
    return out


def _entry(clave: str, nombre: str, votos: int, grand: int) -> dict:
    return {"clave": clave, "nombre": nombre, "votos": votos,
            "porcentaje": summary.trunc4(votos, grand), "ancho": votos * 100 // grand if grand else 0}


def render_csv(nation: NationalElection, night: ElectionNight, at: datetime, published: list[bool],
               head: dict[str, str], fmt: CsvFormat) -> bytes:
    s = nation.seconds(at)
    ln = nation.casilla_ln
    rows = [night.row(i, p, ln[i]) for i, p in enumerate(published)]
    rows += [row for v, row in night.fuera if v <= s]
    lines = [night.line, timing.cut_line(at), ",".join(SUMMARY_FIELDS),
             ",".join(head[k] for k in SUMMARY_FIELDS), "", ",".join(ACTA_HEADER), *rows]
    text = NEWLINES[fmt.newline].join(lines) + NEWLINES[fmt.newline]
    if DELIMITERS[fmt.delimiter] != ",":
        # No cell holds a comma or a pipe (fixed catalogue, numbers, hex), so this is safe.
        text = text.replace(",", DELIMITERS[fmt.delimiter])
    return text.encode(fmt.encoding)


def write_national_cut(nation: NationalElection, at: datetime | str, out_dir: Path | str,
                       fmt: CsvFormat | None = None) -> Path:
    """Write the national cut at ``at`` into ``out_dir/<cut-id>/`` and return that folder."""
    fmt = fmt or CsvFormat()
    at = nation.local(at)
    cut.check_moment(nation, at)
    out = cut.ensure_out_dir(out_dir)
    cid = cut_id(at)
    tmp = out / cut.MARKER / f"tmp-{cid}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        codes = [n.code for n in nation.elections]
        index = []
        for night in nation.elections:
            index.append(_write_election(nation, night, at, cid, codes, tmp, fmt))
        common = _common(cid, at)
        (tmp / "datos").mkdir()
        _write(tmp / INDEX_JSON, _json({"corte": cid, "fecha_hora": at.isoformat(),
                                        "linea_corte": timing.cut_line(at), "elecciones": index}))
        _write(tmp / "index.html", site.env().get_template("nacional_indice.html.j2").render(
            elecciones=index, **common))
        _write(tmp / "estilo.css", _css())
        cut._swap_into_place(tmp, out / cid)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out / cid


def _write_election(nation: NationalElection, night: ElectionNight, at: datetime, cid: str,
                    codes: list[str], tmp: Path, fmt: CsvFormat) -> dict:
    s = nation.seconds(at)
    published, tallies, counted = _tallies(nation, night, s)
    fuera = sum(1 for v, _ in night.fuera if v <= s)
    by_entity: dict[int, Tally] = {eid: Tally() for eid, _, _ in nat.ENTIDADES}
    for d, t in zip(nation.districts, tallies):
        by_entity[d.entidad_id].add(t)
    whole = Tally()
    for t in by_entity.values():
        whole.add(t)
    whole.fuera = fuera
    head = whole.fields()
    csv_bytes = render_csv(nation, night, at, published, head, fmt)
    text = leeme(night, at, codes).replace("\n", NEWLINES[fmt.newline]).encode(fmt.encoding)
    data = package.build_zip_members(at, [(night.csv_name, csv_bytes), (package.LEEME, text)])
    name = zip_name(cid, night.code)
    _write(tmp / name, data)

    folder = tmp / night.code
    (folder / "datos").mkdir(parents=True)
    common = {**_common(cid, at), "eleccion": night.nombre, "codigo": night.code,
              "zip": f"../{name}"}
    all_counted = [i for idx in counted.values() for i in idx]
    entidades = []
    env = site.env()
    for eid, ename, _ in nat.ENTIDADES:
        page, js = f"entidad_{eid:02d}.html", f"datos/entidad_{eid:02d}.json"
        districts = [{"numero": d.numero, "nombre": d.nombre, "resumen": tallies[d.index].fields()}
                     for d in nation.districts if d.entidad_id == eid]
        resumen = by_entity[eid].fields()
        resultados = _results(night, counted[eid])
        _write(folder / js, _json({"corte": cid, "eleccion": night.code, "id_entidad": eid,
                                   "entidad": ename, "resumen": resumen,
                                   "resultados": resultados, "distritos": districts}))
        _write(folder / page, env.get_template("nacional_entidad.html.j2").render(
            entidad=ename, resumen=resumen, resultados=resultados, distritos=districts,
            **common))
        entidades.append({"id": eid, "nombre": ename, "pagina": page, "datos": js,
                          "resumen": resumen})
    resultados = _results(night, all_counted)
    _write(folder / "datos/resumen.json", _json({
        "corte": cid, "eleccion": night.code, "linea_corte": timing.cut_line(at), "resumen": head,
        "resultados": resultados,
        "entidades": [{k: e[k] for k in ("id", "nombre", "pagina", "datos", "resumen")}
                      for e in entidades]}))
    _write(folder / "index.html", env.get_template("nacional_eleccion.html.j2").render(
        resumen=head, resultados=resultados, entidades=entidades, **common))
    _write(folder / "estilo.css", _css())
    return {"codigo": night.code, "eleccion": night.line, "nombre": night.nombre,
            "pagina": f"{night.code}/index.html", "zip": name,
            "zip_sha256": hashlib.sha256(data).hexdigest(), "zip_bytes": len(data),
            "csv": night.csv_name, "filas": len(published) + fuera, "resumen": head}


def _common(cid: str, at: datetime) -> dict:
    return {"cut_id": cid, "fecha": site._fecha(at), "corte": timing.cut_line(at),
            "campos": SUMMARY_FIELDS, "anio": nat.YEAR}


def _css() -> str:
    return site._css() + "".join(f".c-{k}{{background:{v}}}\n" for k, v in EXTRA_COLORS.items())


def _json(data) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _write(path: Path, content: str | bytes) -> None:
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)

