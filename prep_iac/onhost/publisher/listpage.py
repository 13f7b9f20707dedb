"""The Institute's public list of difusores (HTML and JSON). A suspended difusor loses its
link and shows a notice, as the convocatoria says (CONV-III.2)."""

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import jinja2

from prep_iac.onhost.publisher.ledger import ACTIVE, CONCLUDED, SUSPENDED
from prep_iac.paths import template

SUSPENDED_NOTICE = ("Suspendido: no ha recibido los cortes más recientes del PREP. "
                    "Consulte el sitio oficial del Instituto.")


SHOWN_STATE = {ACTIVE: "activo", SUSPENDED: "suspendido", CONCLUDED: "concluido"}


def entries(registry, ledger) -> list[dict]:
    """A concluded difusor (it confirmed the final cut) keeps its link until the end."""
    out = []
    for d in registry.difusores:
        state = ledger.state(d.name)
        suspended = state == SUSPENDED
        out.append({"nombre": d.name, "organizacion": d.organization or d.name,
                    "url": None if suspended else d.public_url,
                    "estado": SHOWN_STATE.get(state, state),
                    "aviso": SUSPENDED_NOTICE if suspended else None})
    return out


def _write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def render(registry, ledger, out_dir) -> tuple[Path, Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    items = entries(registry, ledger)
    generated = datetime.now(UTC).astimezone().isoformat(timespec="seconds")
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    html = env.from_string(Path(template("publisher", "lista.html.j2")).read_text()).render(
        difusores=items, generated=generated)
    html_path, json_path = out_dir / "difusores.html", out_dir / "difusores.json"
    _write(html_path, html)
    _write(json_path, json.dumps({"actualizado": generated, "difusores": items},
                                 ensure_ascii=False, indent=1) + "\n")
    return html_path, json_path
