"""conformance.md: the same report as the HTML, in Markdown (readable in a mail or a diff)."""

from __future__ import annotations

from prep_iac.conformance.aggregate import verdict


def _cell(text) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _fence(text: str) -> list[str]:
    body = text.rstrip("\n")
    fence = "````" if "```" in body else "```"
    return [fence, *body.splitlines(), fence]


def render(report: dict, titulo: str, subtitulo: str) -> str:
    checks = {(c["host"], c["check"]): c for c in report["comprobaciones"]}
    hosts = report["hosts"]
    out = [f"# Informe de conformidad — {titulo}", "", subtitulo,
           (f"Generado: {report['generado']}. Convocatoria de difusores oficiales del PREP, "
            "Instituto Electoral de Coahuila."), "",
           " · ".join(f"**{s}**: {n}" for s, n in report["resumen"].items()), ""]
    out.append(f"**{verdict(report)}**")
    out += ["", "| Requisito | Estado | " + " | ".join(_cell(h) for h in hosts) + " |",
            "|---|---|" + "---|" * len(hosts)]
    for row in report["requisitos"]:
        name = f"{row['id']} {_cell(row['titulo'])}" + (
            "" if row["obligatorio"] else
            " (informativo)" if row["id"].startswith("INF-") else " (preferente)")
        out.append(f"| {name} | {row['estado']} | " +
                   " | ".join(row["hosts"][h]["estado"] for h in hosts) + " |")
    out += ["", "## Evidencia"]
    for row in report["requisitos"]:
        out += ["", f"### {row['id']} — {row['titulo']}: {row['estado']}", "",
                f"> {row['convocatoria']}"]
        if row.get("dispensa"):
            w = row["dispensa"]
            out += ["", f"Dispensa: {w['reason']} ({w['owner']}, vence {w['expires']})."]
        for host in hosts:
            cell = row["hosts"][host]
            out += ["", f"**{host}: {cell['estado']}**", ""]
            for cid in cell["comprobaciones"]:
                out += _check(checks[(host, cid)])
            if cell["evidencia_solicitada"]:
                out += [f"Evidencia solicitada: {cell['evidencia_solicitada']}", ""]
        if row.get("evidencia_pendiente"):
            out += ["", "**Evidencia pendiente:**", ""]
            out += [f"- {_cell(owed)}" for owed in row["evidencia_pendiente"]]
    if report["dispensas"]:
        out += ["", "## Dispensas", "",
                "| Id | Motivo | Responsable | Vence | Hosts | Estado | Aplicada |",
                "|---|---|---|---|---|---|---|"]
        for w in report["dispensas"]:
            standing = w.get("estado", "válida") + (f": {_cell(w['motivo'])}"
                                                    if w.get("motivo") else "")
            out.append(f"| {w['id']} | {_cell(w['reason'])} | {_cell(w['owner'])} | "
                       f"{w['expires']} | {', '.join(w['hosts']) or 'todos'} | {standing} | "
                       f"{'sí' if w['usada'] else 'no'} |")
    return "\n".join(out) + "\n"


def _check(c: dict) -> list[str]:
    line = f"- {c['status']} — {c['title'] or c['check']} (`{c['check']}`)"
    if c["detail"]:
        line += f": {_cell(c['detail'])}"
    if c.get("waiver"):
        w = c["waiver"]
        line += f" · dispensado ({w['estado_original']}): {_cell(w['reason'])}"
    lines = [line]
    for e in c["evidence"]:
        rc = f"   # rc={e['rc']}" if e["rc"] is not None else ""
        lines += ["  " + x for x in _fence(f"$ {e['command']}{rc}\n{e['output']}")]
    return lines + [""]
