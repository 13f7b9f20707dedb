"""Write a report three ways: conformance.json (machines), conformance.md (people, diffs)
and a self-contained conformance.html (the Institute: no external file, font or script)."""

from __future__ import annotations

import json
from pathlib import Path

import jinja2

from prep_iac.conformance import markdown
from prep_iac.conformance.aggregate import verdict

TEMPLATES = Path(__file__).resolve().parent / "templates"


def _css(status: str) -> str:
    return status.replace(" ", "-")


def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters.update(css=_css)
    return env


def titles(report: dict) -> tuple[str, str]:
    if report["informe"] == "audit":
        return (f"auditoría externa de {report.get('objetivo', '')}",
                ("Comprobaciones que cualquiera puede hacer desde fuera, sin cuenta: HTTP, TLS, "
                 "puertos y SFTP."))
    return (f"verificación de {report.get('inventario_nombre', 'los servidores')}",
            ("Comprobaciones dentro de cada servidor, por SSH (pytest-testinfra), del "
             f"inventario {report.get('inventario', '')}."))


def _context(report: dict) -> dict:
    checks = {(c["host"], c["check"]): c for c in report["comprobaciones"]}
    titulo, subtitulo = titles(report)
    return {"r": report, "checks": checks, "titulo": titulo, "subtitulo": subtitulo,
            "veredicto": verdict(report)}


def render_markdown(report: dict) -> str:
    return markdown.render(report, *titles(report))


def render_html(report: dict) -> str:
    return _env().get_template("report.html.j2").render(**_context(report))


def write_reports(report: dict, out_dir: str | Path) -> dict[str, Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "conformance.json", "md": out / "conformance.md",
             "html": out / "conformance.html"}
    texts = {"json": json.dumps(report, ensure_ascii=False, indent=2) + "\n",
             "md": render_markdown(report), "html": render_html(report)}
    for kind, path in paths.items():
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(texts[kind], encoding="utf-8")
        tmp.replace(path)
    return paths
