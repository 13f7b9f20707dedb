"""From check results to the report: one row per requirement, hosts side by side, waivers
applied and visible, and the exit code.

No requirement passes by omission: a mandatory requirement ends met, waived or failing. A
check that "does not apply" to a difusor on a mandatory requirement becomes "manual" with the
evidence it owes (only a check meant for the other role owes none), and a row left "manual"
lists what is still owed. In strict mode (the Institute's, the default) owed evidence fails
the exit code like a failure; a sysadmin's working run (not strict) reports it and exits 0.
Evidence that only the other command (`verify` / `audit`) produces is listed, not failed:
each report answers for what it can look at."""

from __future__ import annotations

import datetime as dt

from prep_iac.conformance.model import (
    CUMPLE,
    DISPENSADO,
    MANUAL,
    NO_APLICA,
    NO_CUMPLE,
    STATUSES,
    CheckResult,
    worst,
)
from prep_iac.conformance.requirements import BY_ID, REQUIREMENTS
from prep_iac.conformance.suites.checks import ROLE_MISMATCH
from prep_iac.conformance.waivers import Waiver

# Where a requirement has no check in this kind of report, the other command proves it.
OTHER_REPORT = {
    "verify": "el informe de `prep-iac audit URL` (comprobaciones desde fuera)",
    "audit": "el informe de `prep-iac verify -i INVENTARIO` (comprobaciones en el servidor)",
}


def owe_evidence(results: list[CheckResult], roles: dict[str, str]) -> list[CheckResult]:
    """A check that "does not apply" on a difusor proves nothing. Where it was the only word
    on a mandatory requirement (no other check proved it on that host), it becomes "manual",
    asking for the evidence its reason leaves owed; where another check did prove it (the
    byte budget bounds the jail in a container that has no loop devices for a filesystem of
    its own), it stays "no aplica", a note beside the proof."""
    proven = {(r.host, req) for r in results if r.status == CUMPLE for req in r.requirements}
    for result in results:
        if result.status != NO_APLICA or roles.get(result.host, "difusor") != "difusor" \
                or ROLE_MISMATCH in result.detail:
            continue
        unproven = [r for r in result.requirements if r in BY_ID and BY_ID[r].mandatory
                    and (result.host, r) not in proven]
        if unproven:
            result.status = MANUAL
            result.detail = (f"no aplica aquí ({result.detail}), y nada más prueba "
                             f"{', '.join(unproven)} en este host: se debe la evidencia de "
                             "que se cumple por otro medio, o una dispensa firmada por el IEC")
    return results


def apply_waivers(results: list[CheckResult], waivers: list[Waiver]) -> list[CheckResult]:
    """A failing or manual check covered by a valid waiver becomes "dispensado", keeping its
    evidence and naming the waiver."""
    for result in results:
        if result.status not in (NO_CUMPLE, MANUAL):
            continue
        for waiver in waivers:
            if waiver.covers(result.check, result.requirements, result.host):
                result.waiver = {**waiver.to_json(), "estado_original": result.status}
                result.status = DISPENSADO
                break
    return results


def build_report(kind: str, hosts: list[str], results: list[CheckResult],
                 waivers: list[Waiver], meta: dict | None = None,
                 now: dt.datetime | None = None, strict: bool = True) -> dict:
    meta = meta or {}
    roles = meta.get("roles") or {}
    _unique_ids(results)
    owe_evidence(results, roles)
    apply_waivers(results, waivers)
    rows = [_row(req, kind, hosts, results, waivers) for req in REQUIREMENTS]
    for row in rows:
        _owed(row)
    failing = [r["id"] for r in rows if r["obligatorio"] and r["estado"] == NO_CUMPLE]
    owed = [r["id"] for r in rows if r["obligatorio"] and r["evidencia_pendiente"]]
    counts = {s: sum(1 for r in rows if r["estado"] == s) for s in STATUSES}
    used = {r.waiver["id"] for r in results if r.waiver}
    used |= {r["id"] for r in rows
             if any(c["estado"] == DISPENSADO and not c["comprobaciones"]
                    for c in r["hosts"].values())}
    return {
        "informe": kind,
        "generado": (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds"),
        **meta,
        "estricto": strict,
        "hosts": hosts,
        "resumen": counts,
        "incumplidos": failing,
        "evidencia_pendiente": owed,
        "pendiente_otro_informe": [r["id"] for r in rows
                                   if r["obligatorio"] and r["otro_informe"]],
        "exit_code": 1 if failing or (strict and owed) else 0,
        "requisitos": rows,
        "comprobaciones": [r.to_json() for r in results],
        "dispensas": [{**w.to_json(), "usada": w.valid and w.id in used} for w in waivers],
    }


def verdict(report: dict) -> str:
    """The report's verdict in one sentence (Spanish), as the HTML and Markdown show it."""
    owed = report.get("evidencia_pendiente") or []
    if report["incumplidos"]:
        text = f"Requisitos obligatorios que no se cumplen: {', '.join(report['incumplidos'])}."
        return text + (f" Evidencia pendiente: {', '.join(owed)}." if owed else "")
    if owed and report.get("estricto", True):
        return (f"Evidencia pendiente de requisitos obligatorios: {', '.join(owed)} (modo "
                "estricto: el informe no se acepta hasta recibirla o dispensarla).")
    if owed:
        return (f"Ningún requisito obligatorio falla, pero se debe evidencia de "
                f"{', '.join(owed)} (informe de trabajo, --no-estricto: el IEC no lo acepta).")
    return "Todos los requisitos obligatorios se cumplen o están dispensados."


def _owed(row: dict) -> None:
    """What the row still owes: every "manual" cell's evidence, unless only the other report
    gives it. (A "no aplica" left on a difusor is a check meant for the other role: the
    requirement is proven on the Institute's hosts, not owed by this difusor.)"""
    owed, other = [], False
    for host, cell in row["hosts"].items():
        other_only = cell.pop("solo_otro_informe", False)
        if cell["estado"] != MANUAL:
            continue
        if other_only:
            other = True
        else:
            owed.append(f"{host}: {cell['evidencia_solicitada'] or 'evidencia manual'}")
    row["evidencia_pendiente"] = owed if row["obligatorio"] else []
    row["otro_informe"] = other and not owed


def _row(req, kind, hosts, results, waivers) -> dict:
    mine = [r for r in results if req.id in r.requirements]
    cells = {}
    for host in hosts:
        checks = [r for r in mine if r.host == host]
        status = worst(r.status for r in checks)
        asked, other_only = "", False
        if status is None:
            status, asked, other_only = _unchecked(req, kind, host, waivers)
        elif status == MANUAL:
            asked = "; ".join(f"{r.check}: {r.detail}" for r in checks if r.status == MANUAL)
            if req.evidencia_manual and kind == "verify" and ("dentro" in req.proven_by
                                                               or "calendario" in req.proven_by):
                asked += f". {req.evidencia_manual}"
        elif status == CUMPLE and req.evidencia_manual and kind == "verify" \
                and ("dentro" in req.proven_by or "calendario" in req.proven_by):
            # Automated checks pass, but part of the requirement is beyond any machine.
            asked = req.evidencia_manual
        cells[host] = {"estado": status, "comprobaciones": [r.check for r in checks],
                       "evidencia_solicitada": asked, "solo_otro_informe": other_only}
    states = [c["estado"] for c in cells.values()]
    status = worst(states) or MANUAL
    row = {
        "id": req.id, "titulo": req.titulo, "convocatoria": req.convocatoria,
        "obligatorio": req.mandatory, "estado": status, "hosts": cells, "dispensa": None,
    }
    waiver = _requirement_waiver(req.id, waivers)
    if waiver:
        row["dispensa"] = waiver.to_json()
    return row


def _unchecked(req, kind, host, waivers) -> tuple[str, str, bool]:
    """No check of this report touched the requirement on this host: ask for evidence.
    Returns (status, evidence asked, whether the other report alone gives it)."""
    for waiver in waivers:
        if waiver.valid and waiver.id == req.id and (not waiver.hosts or host in waiver.hosts):
            return DISPENSADO, req.evidencia_manual, False
    wanted = "fuera" if kind == "verify" else "dentro"
    if kind in OTHER_REPORT and wanted in req.proven_by:
        return MANUAL, OTHER_REPORT[kind], True
    if req.evidencia_manual:
        return MANUAL, req.evidencia_manual, False
    return MANUAL, "Ninguna comprobación automática se ejecutó para este requisito.", False


def _requirement_waiver(req_id: str, waivers: list[Waiver]) -> Waiver | None:
    return next((w for w in waivers if w.valid and w.id == req_id), None)


def _unique_ids(results: list[CheckResult]) -> None:
    """The report finds a check by (host, id): a repeated id gets a ``#n`` suffix."""
    seen: dict[tuple[str, str], int] = {}
    for result in results:
        key = (result.host, result.check)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            result.check = f"{result.check}#{seen[key]}"
