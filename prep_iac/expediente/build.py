"""`prep-iac expediente`: the difusor's file for the Institute, in Spanish. Each document is
one Jinja2 template (autoescaped) rendered to HTML, and its PDF is that same HTML laid out
by WeasyPrint (memoria/pdf.py): there is one text of each document.

Every run is an issue (emisión), numbered in OUT/expediente.json with its date and the
folio of each document (EXP-<issue>-<document>). Earlier issues stay recorded there: the
calendar (conformance/deadlines.py) counts the first issue of a document that came before
its deadline, so a notice given in time stays given when the file is issued again.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import jinja2

from prep_iac.conformance import deadlines
from prep_iac.errors import PrepError
from prep_iac.expediente import sheet
from prep_iac.expediente.facts import HostFacts
from prep_iac.inventory.logo import read_logo

TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class Document:
    key: str  # file name and the evidence kind the calendar reads
    title: str
    requirement: str


DOCUMENTS = (
    Document("aviso", "Aviso de participación", "CONV-I.4"),
    Document("carta", "Carta compromiso y de confidencialidad", "CONV-I.8"),
    Document("ficha", "Ficha de infraestructura y solicitud de valoración", "CONV-II.f"),
    Document("contactos", "Personal técnico de cada etapa", "CONV-V"),
    Document("logotipo", "Logotipo para la lista pública de difusores", "CONV-I.7"),
    Document("calendario", "Calendario de la convocatoria", "CONV-V"),
)
INDEX = "index"


def folio(issue: int, position: int) -> str:
    return f"EXP-{issue:03d}-{position:02d}"


def require_participation(inventory):
    if inventory.participation is None:
        raise PrepError("the inventory has no 'participation' block: the expediente needs the "
                        "organization, its legal representative, the contacts of each stage "
                        "and the logo",
                        "add it as in inventories/example-difusor.yml (docs/expediente.md)")
    return inventory.participation


def _issues(out: Path) -> list[dict]:
    path = out / deadlines.EXPEDIENTE_FILE
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return list(data["emisiones"])
    except (OSError, ValueError, KeyError, TypeError):
        raise PrepError(f"{path} is not the record of an expediente's issues",
                        "move it away (it holds the dates the calendar counts), or choose "
                        "another --out") from None


def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters.update(fecha=deadlines.long_date)
    return env


def _logo(path: str) -> dict:
    logo = read_logo(path)
    data = logo.path.read_bytes()
    return {"kind": logo.kind.upper(), "width": logo.width, "height": logo.height,
            "kib": f"{logo.size / 1024:.1f}", "sha256": hashlib.sha256(data).hexdigest(),
            "src": f"data:{logo.media_type};base64,{base64.b64encode(data).decode()}",
            "file": f"logotipo{logo.path.suffix.lower()}", "bytes": data}


def _write(path: Path, data: str | bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    if isinstance(data, str):
        tmp.write_text(data, encoding="utf-8")
    else:
        tmp.write_bytes(data)
    tmp.replace(path)


def build(inventory, out: str | Path, facts: dict[str, HostFacts], *,
          evidence_dir: str | Path = ".", now: dt.datetime | None = None,
          pdf: bool = True) -> dict:
    """Write the whole file into `out`; returns its summary (what --json prints)."""
    part = require_participation(inventory)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    now = now or dt.datetime.now(dt.UTC)
    cal = inventory.iec.calendar
    local = now.astimezone(cal.prep_opens_at.tzinfo)
    issues = _issues(out)
    number = max((i.get("numero", 0) for i in issues), default=0) + 1
    folios = {d.key: folio(number, n) for n, d in enumerate(DOCUMENTS, 1)}
    this_issue = {"numero": number, "generado": local.isoformat(timespec="seconds"),
                  "fecha": local.date().isoformat(), "documentos": folios}

    evidence = deadlines.gather(deadlines.Folders.under(evidence_dir, expediente=out))
    evidence += deadlines.expediente_evidence_of([this_issue])
    decisions = deadlines.decide(cal, evidence, now)

    rows = {name: sheet.host_rows(name, d, facts[name])
            for name, d in inventory.difusores.items()}
    logo = _logo(part.logo)
    common = {"p": part, "inv": inventory, "iec": inventory.iec, "cal": cal,
              "fecha": local.date(), "numero": number, "folios": folios,
              "documentos": DOCUMENTS, "logo": logo}
    pages = {
        "aviso": {},
        "carta": {},
        "ficha": {"rows": rows, "facts": facts, "to_assess": sheet.to_assess(rows),
                  "to_attach": sheet.to_attach(rows)},
        "contactos": {"stages": _stages(part, cal)},
        "logotipo": {},
        "calendario": {"decisions": decisions},
    }
    env = _env()
    written = []
    for doc in DOCUMENTS:
        html = env.get_template(f"{doc.key}.html.j2").render(
            **common, **pages[doc.key], doc=doc, folio=folios[doc.key])
        written.append(_emit(out, doc.key, html, pdf))
    _write(out / logo["file"], logo["bytes"])
    index = env.get_template("index.html.j2").render(**common, doc=None, folio=None, pdf=pdf)
    written.append(_emit(out, INDEX, index, pdf))
    record = {"organizacion": part.organization, "emisiones": [*issues, this_issue]}
    _write(out / deadlines.EXPEDIENTE_FILE,
           json.dumps(record, ensure_ascii=False, indent=1) + "\n")
    return {
        "expediente": str(out), "emision": number, "fecha": this_issue["fecha"],
        "organizacion": part.organization,
        "documentos": [{"clave": d.key, "titulo": d.title, "folio": folios[d.key],
                        "requisito": d.requirement, "html": str(out / f"{d.key}.html"),
                        "pdf": str(out / f"{d.key}.pdf") if pdf else None}
                       for d in DOCUMENTS],
        "ficha": {host: [{"requisito": r.requirement, "concepto": r.item, "valor": r.value,
                          "estado": r.state, "nota": r.note, "obligatorio": r.mandatory,
                          "fuente": r.source} for r in host_rows]
                  for host, host_rows in rows.items()},
        "no_leidos": {n: f.error for n, f in facts.items() if not f.read},
        "calendario": [{"plazo": d.check_id, "requisito": d.deadline.requirement,
                        "titulo": d.deadline.title, "estado": d.state, "detalle": d.detail}
                       for d in decisions],
        "archivos": [str(p) for p in written],
    }


def _emit(out: Path, key: str, html: str, pdf: bool) -> Path:
    path = out / f"{key}.html"
    _write(path, html)
    if pdf:
        from prep_iac.memoria import pdf as printer

        printer.render(html, out / f"{key}.pdf")
    return path


def _stages(part, cal) -> list[dict]:
    c = part.contacts
    return [
        {"name": "Instalación y pruebas", "from": cal.installation.from_,
         "to": cal.installation.to, "contacts": c.installation},
        {"name": "Ejercicios y simulacros", "from": cal.drills.from_, "to": cal.drills.to,
         "contacts": c.drills},
        {"name": "Operación y difusión de resultados preliminares",
         "from": cal.prep_opens_at.date(), "to": cal.publication_ends_at.date(),
         "contacts": c.operation},
    ]
