"""The Institute's public list of difusores (HTML and JSON, CONV-I.7). A suspended difusor
loses its link and shows a notice, as the convocatoria says (CONV-III.2).

Two copies: the publisher's own (STATE_DIR/lista, always the whole list: the drill and the
conformance suite read it) and the public one on the Institute's web host (listpush.py),
which before the calendar's `public_list_from` only says from when the list is public.
"""

import hashlib
import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import jinja2

from prep_iac import contract
from prep_iac.onhost.publisher.ledger import ACTIVE, CONCLUDED, SUSPENDED
from prep_iac.paths import template

SUSPENDED_NOTICE = ("Suspendido: no ha recibido los cortes más recientes del PREP. "
                    "Consulte el sitio oficial del Instituto.")
SHOWN_STATE = {ACTIVE: "activo", SUSPENDED: "suspendido", CONCLUDED: "concluido"}
MONTHS = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
          "septiembre", "octubre", "noviembre", "diciembre")


def logo_href(difusor) -> str | None:
    """What the page's <img> points at: the difusor's URL, or the copy pushed beside the list
    under logos/ (named after the difusor, with the extension of the file installed here)."""
    logo = getattr(difusor, "logo", None)
    if not logo or logo.lower().startswith(("http://", "https://")):
        return logo
    return f"{contract.LIST_LOGOS}/{difusor.name}{Path(logo).suffix}"


def entries(registry, ledger) -> list[dict]:
    """A concluded difusor (it confirmed the final cut) keeps its link until the end."""
    out = []
    for d in registry.difusores:
        state = ledger.state(d.name)
        suspended = state == SUSPENDED
        out.append({"nombre": d.name, "organizacion": d.organization or d.name,
                    "url": None if suspended else d.public_url,
                    "logo": logo_href(d),
                    "estado": SHOWN_STATE.get(state, state),
                    "aviso": SUSPENDED_NOTICE if suspended else None})
    return out


def is_public(registry, now: datetime | None = None) -> bool:
    """The list is public from the start of the calendar's public_list_from day."""
    starts = getattr(registry, "list_from", None)
    return not starts or (now or datetime.now(UTC)) >= datetime.fromisoformat(starts)


def spanish_date(iso: str) -> str:
    day = datetime.fromisoformat(iso)
    return f"{day.day} de {MONTHS[day.month - 1]} de {day.year}"


def _env() -> jinja2.Environment:
    return jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)


def texts(registry, ledger, now: datetime | None = None, *, public=True) -> dict[str, str]:
    """{file name: content} of the list as of `now`. `public`: the copy for the Institute's
    site, which before the list's date holds no difusor, only from when it is public."""
    now = now or datetime.now(UTC)
    shown = not public or is_public(registry, now)
    items = entries(registry, ledger) if shown else []
    generated = now.astimezone().isoformat(timespec="seconds")
    since = None if shown else spanish_date(registry.list_from)
    html = _env().from_string(Path(template("publisher", "lista.html.j2")).read_text()).render(
        difusores=items, generated=generated, publica_desde=since)
    doc = {"actualizado": generated, "difusores": items}
    if since:
        doc["publica_desde"] = registry.list_from
    return {contract.LIST_HTML: html,
            contract.LIST_JSON: json.dumps(doc, ensure_ascii=False, indent=1) + "\n"}


def digest(registry, ledger, now: datetime | None = None) -> str:
    """What the public list says, its update time aside: the list is pushed again only when
    this changes (a difusor suspended or back, a new logo, the list's date reached)."""
    now = now or datetime.now(UTC)
    shown = is_public(registry, now)
    h = hashlib.sha256(json.dumps([shown, entries(registry, ledger) if shown else []],
                                  sort_keys=True).encode())
    for d in registry.difusores if shown else ():
        logo = getattr(d, "logo", None)
        if logo and not logo.lower().startswith(("http://", "https://")):
            try:
                h.update(Path(logo).read_bytes())
            except OSError:
                pass  # listpush reports the missing file when it pushes
    return h.hexdigest()


def write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def render(registry, ledger, out_dir) -> tuple[Path, Path]:
    """The publisher's own copy: the whole list, whatever the date."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in texts(registry, ledger, public=False).items():
        write_atomic(out_dir / name, text)
    return out_dir / contract.LIST_HTML, out_dir / contract.LIST_JSON
