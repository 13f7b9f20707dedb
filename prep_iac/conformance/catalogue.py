"""docs/requisitos.md, the requirement catalogue, written from the code: each requirement of
`requirements.py` (its ID, whether it is mandatory, the call's text, how it is proven, the
evidence to attach) with the check ids that prove it, read from the suites' `conv` markers
(`checkids.suite_checks`, no import) and the audit's registry. Spanish: the difusores and
the Institute read it.

    .venv/bin/python -m prep_iac.conformance.catalogue           # rewrite docs/requisitos.md
    .venv/bin/python -m prep_iac.conformance.catalogue --check   # exit 1 when it is stale

tests/unit/test_conformance_catalogue.py fails when the committed file is not what this
module writes, so the catalogue never drifts from the checks.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from prep_iac.conformance.checkids import SUITES_DIR, suite_checks
from prep_iac.conformance.requirements import REQUIREMENTS, Requirement
from prep_iac.paths import REPO_DIR

CATALOGUE = REPO_DIR / "docs" / "requisitos.md"
AUDIT_REGISTRY = Path(__file__).resolve().parent / "audit" / "registry.py"
GENERATOR = "python -m prep_iac.conformance.catalogue"

# requirements.proven_by -> how that part is proven, in words.
PROOF = {
    "dentro": "desde dentro del servidor: `prep-iac verify -i INVENTARIO` (SSH y testinfra)",
    "fuera": "desde fuera, como cualquier visitante: `prep-iac audit URL` (HTTP, TLS, puertos, "
             "clave de host)",
    "laboratorio": "en el laboratorio: las pruebas de ataque, falla y conmutación "
                   "(`./dev test`) y el simulacro (`prep-iac simulacro`)",
    "documentos": "con documentos que prep-iac genera y el difusor entrega al IEC "
                  "(`prep-iac expediente`, `prep-iac runbook`, `prep-iac memoria`)",
    "calendario": "con el calendario: `prep-iac verify` compara la fecha de la evidencia "
                  "(expediente, verificación, simulacro, memoria) con el plazo de la "
                  "convocatoria: cumplido, pendiente o vencido ([expediente.md](expediente.md))",
}
DEADLINES = Path(__file__).resolve().parent / "deadlines.py"


HEADER = (f"<!-- Generado con `{GENERATOR}` desde prep_iac/conformance/requirements.py, las "
          "marcas de las suites y el registro de la auditoría. No lo edite a mano: edite el "
          "código y vuelva a generarlo. -->")
INTRO = (
    ("Cada requisito de la convocatoria del Instituto Electoral de Coahuila (IEC) para "
     "difusores oficiales del PREP tiene un ID (`CONV-` y la base, el inciso y el numeral: "
     "`CONV-II.c.1` es la base II, inciso c, primer punto). Los informes de `prep-iac verify` "
     "y `prep-iac audit` tienen un renglón por requisito, con estos IDs, y una dispensa puede "
     "nombrar un requisito o una comprobación ([conformance.md](conformance.md))."),
    "",
    ("Cada sección dice si el requisito es obligatorio, qué pide la convocatoria (resumido), "
     "cómo se prueba y con qué comprobaciones. Un equipo al que `verify` no alcanza por SSH "
     "no cumple ningún requisito que se pruebe desde dentro (`verify::conexion_ssh`), y una "
     "suite que no carga no cumple los suyos (`<suite>::importar`). Los estados del informe: "
     "`cumple`, `no cumple`, `no aplica`, `manual` (pide evidencia que ninguna máquina puede "
     "dar) y `dispensado`."),
    "",
)
OPTIONAL = ("Opcional: el informe lo muestra, pero nunca decide el código de salida de "
            "`verify` ni de `audit`.")
UNCHECKED = ("Ninguna comprobación automática lo nombra: `verify` y `audit` lo muestran como "
             "`manual` y piden la evidencia de arriba.")


@dataclass(frozen=True)
class Check:
    id: str
    command: str  # "verify" or "audit"
    source: Path  # where the check is declared
    title: str = ""


def anchor(req_id: str) -> str:
    """The anchor of a requirement's heading (`## CONV-I.1`), as GitHub and most renderers
    make it: lower case, punctuation other than `-` and `_` dropped: `conv-i1`."""
    return re.sub(r"[^\w\- ]", "", req_id.lower()).replace(" ", "-")


def checks_by_requirement(suites_dir: Path = SUITES_DIR) -> dict[str, list[Check]]:
    """requirement id -> the checks that name it: the suites' (verify) then the audit's,
    each sorted by id."""
    from prep_iac.conformance.audit.registry import AUDIT_CHECKS
    from prep_iac.conformance.deadlines import deadline_requirements

    found: dict[str, list[Check]] = {}
    for check in suite_checks(suites_dir):
        source = suites_dir / check.where.split(":")[0]
        for req in check.requirements:
            found.setdefault(req, []).append(Check(check.id, "verify", source))
    for check_id, req in deadline_requirements().items():
        found.setdefault(req, []).append(Check(check_id, "verify", DEADLINES))
    for check_id, (reqs, title) in AUDIT_CHECKS.items():
        for req in reqs:
            found.setdefault(req, []).append(Check(check_id, "audit", AUDIT_REGISTRY, title))
    return {req: sorted(checks, key=lambda c: (c.command != "verify", c.id))
            for req, checks in found.items()}


def _link(path: Path) -> str:
    """A link from docs/ to a file of the repository."""
    relative = path.resolve().relative_to(REPO_DIR)
    return f"[{relative.name}](../{relative.as_posix()})"


def _mandatory(req: Requirement) -> str:
    if req.mandatory:
        return "obligatorio"
    if req.id.startswith("INF-"):
        return "informativo (no lo pide la convocatoria)"
    return "opcional"


def _section(req: Requirement, checks: list[Check]) -> list[str]:
    lines = [f"## {req.id}", "", f"**{req.titulo}** · {_mandatory(req)}", ""]
    lines += [f"> {req.convocatoria}", ""]
    if not req.mandatory and not req.id.startswith("INF-"):
        lines += [OPTIONAL, ""]
    if req.proven_by:
        lines += ["Cómo se prueba:", ""]
        lines += [f"- {PROOF[way]}" for way in req.proven_by]
        lines.append("")
    if req.evidencia_manual:
        lines += [f"Evidencia que se adjunta (`manual` en el informe): {req.evidencia_manual}",
                  ""]
    elif req.proven_by:
        lines += ["Sin evidencia que adjuntar: lo deciden las comprobaciones.", ""]
    inside = [c for c in checks if c.command == "verify"]
    outside = [c for c in checks if c.command == "audit"]
    if inside:
        lines += ["Comprobaciones de `prep-iac verify`:", ""]
        lines += [f"- `{c.id}` ({_link(c.source)})" for c in inside]
        lines.append("")
    if outside:
        lines += ["Comprobaciones de `prep-iac audit`:", ""]
        lines += [f"- `{c.id}`: {c.title} ({_link(c.source)})" for c in outside]
        lines.append("")
    if not checks:
        lines += [UNCHECKED, ""]
    return lines


def _besides(req: Requirement) -> str:
    """What proves the requirement besides verify's and audit's checks."""
    ways = [w for w in ("laboratorio", "documentos", "calendario") if w in req.proven_by]
    if req.evidencia_manual:
        ways.append("evidencia")
    return ", ".join(ways) or "—"


def render(suites_dir: Path = SUITES_DIR) -> str:
    """The whole of docs/requisitos.md."""
    by_req = checks_by_requirement(suites_dir)
    lines = [
        HEADER, "", "# Requisitos de la convocatoria", "", *INTRO,
        "| ID | requisito | obligatorio | comprobaciones de verify | de audit | además |",
        "|---|---|---|---|---|---|",
    ]
    for req in REQUIREMENTS:
        checks = by_req.get(req.id, [])
        inside = sum(1 for c in checks if c.command == "verify")
        lines.append(f"| [{req.id}](#{anchor(req.id)}) | {req.titulo} | "
                     f"{'sí' if req.mandatory else 'no'} | {inside} | {len(checks) - inside} | "
                     f"{_besides(req)} |")
    lines.append("")
    for req in REQUIREMENTS:
        lines += _section(req, by_req.get(req.id, []))
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=GENERATOR, description="Write docs/requisitos.md from the requirements and checks.")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 when the file is not what would be written")
    parser.add_argument("--out", type=Path, default=CATALOGUE, help="default: %(default)s")
    args = parser.parse_args(argv)
    text = render()
    current = args.out.read_text(encoding="utf-8") if args.out.exists() else None
    if args.check:
        if current != text:
            print(f"{args.out} is out of date: run {GENERATOR}", file=sys.stderr)
            return 1
        return 0
    if current != text:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    else:
        print(f"{args.out} is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
