"""The call's deadlines, each met, pending or failing by the evidence found in the known
output folders: what `prep-iac verify` reports as its `calendario::` rows and what the
expediente's calendar page shows. One decision, two readers.

Evidence, by folder (each under one base folder, `--evidencias`, by default the current one):

- `expediente/expediente.json`: every issue of the difusor's file, dated, with the folio of
  each document (the notice, the contacts, the logo...): `prep-iac expediente`;
- `verificacion/historial.json` (and `conformance.json`): every verify run, dated, and
  whether its checks found the infrastructure without a mandatory failure: `prep-iac verify`;
- `simulacro/simulacro.json` (and `simulacro.anterior/`): a drill's result: `prep-iac simulacro`;
- `memoria/report.json`: the memoria técnica: `prep-iac memoria report`.

A deadline with evidence dated before it is met; without, it is pending until it passes and
failing after. An accelerated calendar (labs, drills) has made-up dates: not applicable.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from prep_iac.conformance.model import CUMPLE, NO_APLICA, NO_CUMPLE, PENDIENTE, CheckResult
from prep_iac.inventory.schema import Calendar

MET, PENDING, FAILING, NOT_APPLICABLE = "cumplido", "pendiente", "vencido", "no aplica"

# Folder names under the evidence base, as the commands write them by default.
EXPEDIENTE_DIR, VERIFY_DIR, DRILL_DIR, MEMORIA_DIR = (
    "expediente", "verificacion", "simulacro", "memoria")
EXPEDIENTE_FILE = "expediente.json"
VERIFY_HISTORY = "historial.json"

MONTHS = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
          "septiembre", "octubre", "noviembre", "diciembre")


def long_date(day: dt.date) -> str:
    """'12 de mayo de 2021'."""
    return f"{day.day} de {MONTHS[day.month - 1]} de {day.year}"


@dataclass(frozen=True)
class Evidence:
    kind: str  # one of the documents ("aviso", "contactos", "logotipo"...), "verificacion",
    #            "simulacro", "memoria"
    at: dt.datetime  # aware
    what: str  # what it is, for people: "aviso, folio EXP-001-01"
    ok: bool = True  # a verify run or a drill that failed is not evidence of anything


@dataclass(frozen=True)
class Folders:
    expediente: Path
    verificacion: Path
    simulacro: Path
    memoria: Path

    @classmethod
    def under(cls, base: str | Path = ".", **overrides: Path | None) -> Folders:
        """The known folders under `base`; a command passes its own output folder."""
        base = Path(base)
        paths = {"expediente": base / EXPEDIENTE_DIR, "verificacion": base / VERIFY_DIR,
                 "simulacro": base / DRILL_DIR, "memoria": base / MEMORIA_DIR}
        paths.update({k: Path(v) for k, v in overrides.items() if v is not None})
        return cls(**paths)


@dataclass(frozen=True)
class Deadline:
    key: str  # the check id's name: calendario::<key>
    requirement: str
    title: str
    due_at: dt.datetime  # evidence must be dated before this instant
    due_text: str  # "a más tardar el 12 de mayo de 2021"
    kinds: tuple[str, ...]  # evidence kinds that meet it
    missing: str  # what to produce, for people
    not_before: dt.datetime | None = None  # evidence earlier than this does not count


@dataclass
class Decision:
    deadline: Deadline
    state: str
    detail: str
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def check_id(self) -> str:
        return f"calendario::{self.deadline.key}"


def _day_start(cal: Calendar, day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), cal.prep_opens_at.tzinfo)


def deadlines(cal: Calendar) -> list[Deadline]:
    """The call's deadlines, in its order, with what meets each."""
    def by_end_of(day: dt.date) -> tuple[dt.datetime, str]:
        return _day_start(cal, day + dt.timedelta(days=1)), f"a más tardar el {long_date(day)}"

    aviso, aviso_text = by_end_of(cal.notice_by)
    infra, infra_text = by_end_of(cal.infrastructure_by)
    drills, drills_text = by_end_of(cal.drills.to)
    memoria, memoria_text = by_end_of(cal.memoria_by)
    contacts_at = _day_start(cal, cal.installation.from_)
    logo_at = _day_start(cal, cal.public_list_from)
    return [
        Deadline("aviso", "CONV-I.4", "Aviso de participación al IEC", aviso, aviso_text,
                 ("aviso",), "el aviso de participación emitido con `prep-iac expediente` "
                 "(y entregado a la DEIE con copia al Comité Técnico Asesor del PREP)"),
        Deadline("contactos", "CONV-V", "Contactos técnicos de cada etapa", contacts_at,
                 f"antes de la etapa de instalación ({long_date(cal.installation.from_)})",
                 ("contactos",), "los contactos técnicos de cada etapa emitidos con "
                 "`prep-iac expediente`"),
        Deadline("infraestructura", "CONV-I.5", "Infraestructura mínima operando", infra,
                 infra_text, ("verificacion",), "un informe de `prep-iac verify` sin requisito "
                 "obligatorio incumplido en los servidores"),
        Deadline("simulacros", "CONV-V", "Ejercicios y simulacros", drills, drills_text,
                 ("simulacro",), "el informe de un simulacro sin fallas (`prep-iac simulacro "
                 "-i INVENTARIO`) de la etapa de simulacros",
                 not_before=_day_start(cal, cal.drills.from_)),
        Deadline("logotipo", "CONV-I.7", "Logotipo para la lista pública", logo_at,
                 f"antes de que la lista sea pública ({long_date(cal.public_list_from)})",
                 ("logotipo",), "el logotipo validado y emitido con `prep-iac expediente`"),
        Deadline("memoria", "CONV-VI", "Memoria técnica", memoria, memoria_text, ("memoria",),
                 "la memoria técnica (`prep-iac memoria report`) de la operación, hecha después "
                 "del cierre del PREP", not_before=cal.prep_closes_at),
    ]


def decide(cal: Calendar, evidence: Iterable[Evidence], now: dt.datetime) -> list[Decision]:
    """Each deadline of `cal` met, pending, failing or not applicable at `now` (aware)."""
    evidence = [e for e in evidence if e.ok]
    out = []
    for d in deadlines(cal):
        if cal.accelerated:
            out.append(Decision(d, NOT_APPLICABLE, "calendario acelerado (laboratorio o "
                                "simulacro): sus plazos no son los de la convocatoria"))
            continue
        mine = sorted((e for e in evidence if e.kind in d.kinds
                       and (d.not_before is None or e.at >= d.not_before)), key=lambda e: e.at)
        on_time = [e for e in mine if e.at < d.due_at]
        if on_time:
            first = on_time[0]
            out.append(Decision(d, MET, f"{first.what}, del {_when(first.at, cal)} "
                                f"({d.due_text})", on_time))
        elif now < d.due_at:
            out.append(Decision(d, PENDING, f"plazo: {d.due_text}; falta: {d.missing}", mine))
        else:
            late = (f"; hay {mine[0].what} del {_when(mine[0].at, cal)}, después del plazo"
                    if mine else "")
            out.append(Decision(d, FAILING, f"plazo vencido ({d.due_text}); falta: "
                                f"{d.missing}{late}", mine))
    return out


def _when(at: dt.datetime, cal: Calendar) -> str:
    local = at.astimezone(cal.prep_opens_at.tzinfo)
    return f"{long_date(local.date())} a las {local:%H:%M}"


STATUS = {MET: CUMPLE, PENDING: PENDIENTE, FAILING: NO_CUMPLE, NOT_APPLICABLE: NO_APLICA}
# Any valid calendar names the same deadlines: the 2021 call's dates stand for them all.
_SAMPLE = {"notice_by": "2021-05-12", "infrastructure_by": "2021-05-14",
           "installation": {"from": "2021-05-12", "to": "2021-05-15"},
           "drills": {"from": "2021-05-16", "to": "2021-05-30", "days": ["2021-05-16"]},
           "public_list_from": "2021-06-01", "prep_opens": "2021-06-06 18:00",
           "prep_closes": "2021-06-07 18:00", "publication_ends": "2021-06-15 23:59",
           "memoria_by": "2021-06-15"}


def deadline_requirements() -> dict[str, str]:
    """check id -> requirement, for the catalogue and the ids a waiver may name."""
    return {f"calendario::{d.key}": d.requirement
            for d in deadlines(Calendar.model_validate(_SAMPLE))}


CHECK_IDS = set(deadline_requirements())


def check_results(decisions: list[Decision], hosts: list[str]) -> list[CheckResult]:
    """verify's rows: a deadline concerns the whole difusor, so each host shows it."""
    return [CheckResult(check=d.check_id, requirements=[d.deadline.requirement], host=host,
                        status=STATUS[d.state], title=f"Plazo: {d.deadline.title}",
                        detail=d.detail)
            for d in decisions for host in hosts]


# --- reading the evidence folders ------------------------------------------------------


def _json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _aware(text) -> dt.datetime | None:
    try:
        at = dt.datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return at if at.tzinfo else None  # a date without its offset proves no deadline


def gather(folders: Folders) -> list[Evidence]:
    """Every piece of evidence the known folders hold; unreadable files are no evidence."""
    return [*expediente_evidence(folders.expediente), *verify_evidence(folders.verificacion),
            *drill_evidence(folders.simulacro), *memoria_evidence(folders.memoria)]


def expediente_evidence(folder: Path) -> list[Evidence]:
    data = _json(folder / EXPEDIENTE_FILE)
    issues = data.get("emisiones") if isinstance(data, dict) else None
    return expediente_evidence_of(issues if isinstance(issues, list) else [])


def expediente_evidence_of(issues: list[dict]) -> list[Evidence]:
    """Each document of each issue of the expediente, dated by its issue."""
    out = []
    for issue in issues:
        at = _aware(issue.get("generado")) if isinstance(issue, dict) else None
        documents = issue.get("documentos") if at else None
        for kind, folio in (documents if isinstance(documents, dict) else {}).items():
            out.append(Evidence(kind, at, f"{kind}, folio {folio}"))
    return out


def verify_evidence(folder: Path) -> list[Evidence]:
    runs = _json(folder / VERIFY_HISTORY)
    runs = runs if isinstance(runs, list) else []
    current = _json(folder / "conformance.json")
    recorded = {run.get("generado") for run in runs if isinstance(run, dict)}
    if isinstance(current, dict) and current.get("informe") == "verify" \
            and current.get("generado") not in recorded:  # a run from before the history
        runs.append({"generado": current.get("generado"),
                     "infraestructura_sin_fallas": current.get("exit_code") == 0})
    out = []
    for run in runs:
        at = _aware(run.get("generado")) if isinstance(run, dict) else None
        if at is not None:
            out.append(Evidence("verificacion", at, "el informe de `prep-iac verify`",
                                ok=run.get("infraestructura_sin_fallas") is True))
    return out


def drill_evidence(folder: Path) -> list[Evidence]:
    out = []
    for path in (folder / "simulacro.json",
                 folder.with_name(folder.name + ".anterior") / "simulacro.json"):
        data = _json(path)
        at = _aware(data.get("finished")) if isinstance(data, dict) else None
        if at is not None:
            out.append(Evidence("simulacro", at, "el informe de `prep-iac simulacro`",
                                ok=data.get("ok") is True))
    return out


def memoria_evidence(folder: Path) -> list[Evidence]:
    data = _json(folder / "report.json")
    at = _aware(data.get("generated")) if isinstance(data, dict) else None
    return [Evidence("memoria", at, "la memoria técnica")] if at else []


def record_verify_run(folder: Path, generated: str, infra_clean: bool,
                      failing: list[str]) -> None:
    """Keep every verify run's date and outcome: conformance.json is rewritten by the next
    run, and the deadline of CONV-I.5 needs the first clean one."""
    path = folder / VERIFY_HISTORY
    runs = _json(path)
    runs = runs if isinstance(runs, list) else []
    runs.append({"generado": generated, "infraestructura_sin_fallas": infra_clean,
                 "incumplidos": failing})
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(runs, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)
