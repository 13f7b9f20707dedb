"""CONV-I.6: the PREP may be framed by the difusor's own portal and by no one else.

Read from the Content-Security-Policy's frame-ancestors (what browsers obey) and
X-Frame-Options (DENY forbids every frame, the portal's too)."""

from __future__ import annotations

from urllib.parse import urlsplit

from prep_iac.conformance.audit.common import Target, http_evidence, result
from prep_iac.conformance.model import CUMPLE, MANUAL, NO_CUMPLE

WILDCARDS = {"*", "http:", "https:", "data:", "blob:"}


def csp_directives(values: list[str]) -> dict[str, list[str]]:
    """Directives of every Content-Security-Policy header. When a directive repeats in one
    policy the first counts; several policies all apply: their sources are listed each."""
    found: dict[str, list[list[str]]] = {}
    for value in values:
        seen = set()
        for part in value.split(";"):
            tokens = part.split()
            if not tokens:
                continue
            name = tokens[0].lower()
            if name in seen:
                continue
            seen.add(name)
            found.setdefault(name, []).append(tokens[1:])
    return {name: lists[0] if len(lists) == 1 else _intersection(lists)
            for name, lists in found.items()}


def _intersection(lists: list[list[str]]) -> list[str]:
    # Several policies: a frame is allowed only if every policy allows it.
    common = [s for s in lists[0] if all(s in other for other in lists[1:])]
    return common


def origin(text: str) -> str:
    parts = urlsplit(text)
    return f"{parts.scheme}://{parts.netloc}".lower()


def allows(sources: list[str], frame_origin: str, self_origin: str) -> bool:
    """Would a page at ``frame_origin`` be allowed to frame us? (CSP3 source matching,
    enough of it for origins: scheme, host with a leading ``*.``, port.)"""
    frame_origin = origin(frame_origin)
    for source in sources:
        s = source.strip().lower()
        if s == "'none'":
            continue
        if s == "'self'" and frame_origin == origin(self_origin):
            return True
        if s in WILDCARDS:
            if s == "*" or frame_origin.startswith(s):
                return True
            continue
        if "://" not in s:
            s = urlsplit(self_origin).scheme + "://" + s
        want, have = urlsplit(s), urlsplit(frame_origin)
        if want.scheme != have.scheme:
            continue
        host, port = want.hostname or "", want.port
        if host.startswith("*."):
            if not (have.hostname or "").endswith(host[1:]):
                continue
        elif host != have.hostname:
            continue
        if (port or _default(want.scheme)) != (have.port or _default(have.scheme)) \
                and want.netloc.split(":")[-1] != "*":
            continue
        return True
    return False


def _default(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def problems(sources: list[str] | None, xfo: str | None, declared: list[str] | None,
             self_origin: str) -> list[str]:
    found = []
    if xfo and xfo.strip().upper() in ("DENY", "SAMEORIGIN") and declared:
        found.append(f"X-Frame-Options: {xfo} impide que el portal enmarque el PREP")
    if sources is None:
        found.append("no hay Content-Security-Policy frame-ancestors: cualquier sitio puede "
                     "enmarcar el PREP")
        return found
    broad = [s for s in sources if s.lower() in WILDCARDS]
    if broad:
        found.append(f"frame-ancestors admite cualquier origen ({' '.join(broad)})")
    if declared is not None:
        for wanted in declared:
            if not allows(sources, wanted, self_origin):
                found.append(f"frame-ancestors no permite el portal declarado {wanted}")
        extra = [s for s in sources if s.lower() not in ("'self'", "'none'")
                 and s.lower() not in WILDCARDS
                 and not any(allows([s], d, self_origin) for d in declared)]
        if extra:
            found.append(f"frame-ancestors permite orígenes no declarados: {' '.join(extra)}")
    return found


# An origin nobody declares: it must be refused.
STRANGER = "https://sitio-ajeno.invalid"


def check(target: Target):
    resp = target.page()
    csp = csp_directives(resp.all("Content-Security-Policy"))
    sources = csp.get("frame-ancestors")
    issues = problems(sources, resp.header("X-Frame-Options"), target.portal_origins,
                      target.url)
    if sources is not None and allows(sources, STRANGER, target.url):
        issues.append(f"un origen ajeno ({STRANGER}) podría enmarcar el PREP")
    evidence = [http_evidence(resp)]
    if issues:
        return [result(target, "audit::marcos", NO_CUMPLE, "; ".join(issues), evidence)]
    if target.portal_origins is None:
        return [result(target, "audit::marcos", MANUAL,
                       f"frame-ancestors {' '.join(sources)}: sin orígenes declarados con qué "
                       "compararlo (dé -i REGISTRO o --portal ORIGEN)", evidence)]
    return [result(target, "audit::marcos", CUMPLE,
                   f"frame-ancestors {' '.join(sources)}; portal declarado: "
                   f"{', '.join(target.portal_origins) or 'ninguno'}; un origen ajeno queda "
                   "rechazado", evidence)]
