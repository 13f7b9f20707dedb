"""From check results to the report: one row per requirement, hosts side by side, waivers
applied and visible, and the exit code (0 only when every mandatory requirement is met or
waived; "manual" rows ask for evidence and do not decide it)."""

from __future__ import annotations

import datetime as dt

from prep_iac.conformance.model import (
    CUMPLE,
    DISPENSADO,
    MANUAL,
    NO_CUMPLE,
    STATUSES,
    CheckResult,
    worst,
)
from prep_iac.conformance.requirements import REQUIREMENTS
from prep_iac.conformance.waivers import Waiver

# Where a requirement has no check in this kind of report, the other command proves it.
OTHER_REPORT = {
    "verify": "el informe de `prep-iac audit URL` (comprobaciones desde fuera)",
    "audit": "el informe de `prep-iac verify -i INVENTARIO` (comprobaciones en el servidor)",
}


def apply_waivers(results: list[CheckResult], waivers: list[Waiver]) -> list[CheckResult]:
    """A failing or manual check covered by a waiver becomes "dispensado", keeping its
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
                 now: dt.datetime | None = None) -> dict:
    _unique_ids(results)
    apply_waivers(results, waivers)
    rows = [_row(req, kind, hosts, results, waivers) for req in REQUIREMENTS]
    failing = [r["id"] for r in rows if r["obligatorio"] and r["estado"] == NO_CUMPLE]
    counts = {s: sum(1 for r in rows if r["estado"] == s) for s in STATUSES}
    used = {r.waiver["id"] for r in results if r.waiver}
    used |= {r["id"] for r in rows
             if any(c["estado"] == DISPENSADO and not c["comprobaciones"]
                    for c in r["hosts"].values())}
    return {
        "informe": kind,
        "generado": (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds"),
        **(meta or {}),
        "hosts": hosts,
        "resumen": counts,
        "incumplidos": failing,
        "exit_code": 1 if failing else 0,
        "requisitos": rows,
        "comprobaciones": [r.to_json() for r in results],
        "dispensas": [{**w.to_json(), "usada": w.id in used} for w in waivers],
    }


def _row(req, kind, hosts, results, waivers) -> dict:
    mine = [r for r in results if req.id in r.requirements]
    cells = {}
    for host in hosts:
        checks = [r for r in mine if r.host == host]
        status = worst(r.status for r in checks)
        asked = ""
        if status is None:
            status, asked = _unchecked(req, kind, host, waivers)
        elif status in (CUMPLE, MANUAL) and req.evidencia_manual and kind == "verify" \
                and ("dentro" in req.proven_by or "calendario" in req.proven_by):
            # Automated checks pass, but part of the requirement is beyond any machine.
            asked = req.evidencia_manual
        cells[host] = {"estado": status, "comprobaciones": [r.check for r in checks],
                       "evidencia_solicitada": asked}
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


def _unchecked(req, kind, host, waivers) -> tuple[str, str]:
    """No check of this report touched the requirement on this host: ask for evidence."""
    for waiver in waivers:
        if waiver.id == req.id and (not waiver.hosts or host in waiver.hosts):
            return DISPENSADO, req.evidencia_manual
    parts = []
    if kind in OTHER_REPORT and any(p in req.proven_by for p in ("dentro", "fuera")):
        wanted = "fuera" if kind == "verify" else "dentro"
        if wanted in req.proven_by:
            parts.append(OTHER_REPORT[kind])
    if req.evidencia_manual:
        parts.append(req.evidencia_manual)
    if not parts:
        parts.append("Ninguna comprobación automática se ejecutó para este requisito.")
    return MANUAL, " ".join(parts)


def _requirement_waiver(req_id: str, waivers: list[Waiver]) -> Waiver | None:
    return next((w for w in waivers if w.id == req_id), None)


def _unique_ids(results: list[CheckResult]) -> None:
    """The report finds a check by (host, id): a repeated id gets a ``#n`` suffix."""
    seen: dict[tuple[str, str], int] = {}
    for result in results:
        key = (result.host, result.check)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            result.check = f"{result.check}#{seen[key]}"
