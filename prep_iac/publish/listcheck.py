"""`prep-iac lista check`: the list the Institute's web host serves, against the ledger.

The public reads difusores.html; tools read difusores.json: both are fetched from each web
host of the inventory and compared with what the ledger says each difusor is. A difference
right after a round may be the next push on its way: the list follows within one period.
"""

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from urllib.parse import urljoin

from prep_iac import contract
from prep_iac.onhost.publisher import listpage


@dataclass(frozen=True)
class States:
    """What listpage needs of a ledger: each difusor's state (rows read anywhere)."""
    by_name: dict

    def state(self, name: str) -> str:
        return self.by_name.get(name, "active")


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: set[str] = set()

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs.update(v for k, v in attrs if k == "href" and v)


def links(html: str) -> set[str]:
    parser = _Links()
    parser.feed(html)
    return parser.hrefs


def differences(registry, ledger, doc: dict, html: str, now: datetime | None = None) -> list[str]:
    """What the published list (its JSON `doc` and its page `html`) says that the ledger does
    not, one Spanish line each; empty when they agree."""
    now = now or datetime.now(UTC)
    out = []
    published = {d.get("nombre"): d for d in doc.get("difusores", []) if isinstance(d, dict)}
    hrefs = links(html)
    if not listpage.is_public(registry, now):
        if published:
            out.append(f"la lista muestra {len(published)} difusores antes de su fecha "
                       f"({registry.list_from})")
        if doc.get("publica_desde") != registry.list_from:
            out.append(f"la lista no dice desde cuándo es pública ({registry.list_from})")
        return out
    for want in listpage.entries(registry, ledger):
        name = want["nombre"]
        got = published.pop(name, None)
        if got is None:
            out.append(f"{name}: falta en {contract.LIST_JSON}")
            continue
        for key in ("url", "estado", "logo"):
            if got.get(key) != want[key]:
                out.append(f"{name}: {key} publicado {got.get(key)!r}, el registro dice "
                           f"{want[key]!r}")
        if want["url"] and want["url"] not in hrefs:
            out.append(f"{name}: la página no tiene su enlace {want['url']}")
    for name in published:
        out.append(f"{name}: publicado, pero no es un difusor del registro")
    suspended = [d for d in registry.difusores if ledger.state(d.name) == "suspended"]
    for d in suspended:
        if d.public_url and d.public_url in hrefs:
            out.append(f"{d.name}: suspendido, pero la página aún tiene su enlace {d.public_url}")
    return out


def fetch(url: str, timeout: float = 10.0) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return resp.read(4 * 1024 * 1024).decode("utf-8")


def check_website(registry, ledger, website, now=None) -> list[str]:
    """The differences of one web host, or why its list could not be read."""
    base = website.public_url if website.public_url.endswith("/") else website.public_url + "/"
    try:
        doc = json.loads(fetch(urljoin(base, contract.LIST_JSON)))
        html = fetch(base)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return [f"no se pudo leer la lista en {base}: {exc}"]
    if not isinstance(doc, dict):
        return [f"{contract.LIST_JSON} en {base} no es un objeto JSON"]
    return differences(registry, ledger, doc, html, now)
