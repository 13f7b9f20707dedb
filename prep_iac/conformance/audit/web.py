"""Checks on what the PREP path serves: free access (CONV-I.2), the site up and in a valid
state (CONV-I.1), the cut time in estado.json and the response header (CONV-I.10), the
security headers (CONV-II.d.2)."""

from __future__ import annotations

import datetime as dt
import json
import re
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from prep_iac.conformance.audit.common import CUT_HEADER, ESTADO, Target, http_evidence, result
from prep_iac.conformance.model import CUMPLE, NO_APLICA, NO_CUMPLE, Command
from prep_iac.contract import (
    CLOSED,
    CONCLUDED,
    MISSED_PERIODS,
    NOT_OPEN,
    NOTICE,
    STATES,
    stale_after_s,
)
from prep_iac.onhost.watchdog import freshness

LOGIN_WORDS = re.compile(r"login|signin|sign-in|auth|acceso|ingresar|suscri|paywall|account|"
                         r"cuenta|registro", re.IGNORECASE)
MIN_HSTS_S = 15_552_000  # 180 days


def parse_estado(resp) -> tuple[dict | None, str]:
    if resp.status != 200:
        return None, f"estado.json respondió {resp.status}"
    try:
        data = json.loads(resp.body)
    except ValueError as exc:
        return None, f"estado.json no es JSON válido: {exc}"
    if not isinstance(data, dict):
        return None, "estado.json no es un objeto JSON"
    return data, ""


def server_now(resp) -> dt.datetime:
    """The server's clock (Date header) when it gives one: no skew between auditor and host."""
    try:
        return parsedate_to_datetime(resp.header("Date"))
    except (TypeError, ValueError):
        return dt.datetime.now(dt.UTC)


def parse_time(text) -> dt.datetime | None:
    try:
        value = dt.datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return value if value.tzinfo else None


# Outside the window or with updates interrupted, the PREP path answers 503 with the
# not-open or notice page (and Retry-After): that is the site working as the call asks.
NOTICE_STATES = (NOTICE, NOT_OPEN, CLOSED)


def notice_page(page, data: dict | None) -> bool:
    return page.status == 503 and bool(data) and data.get("estado") in NOTICE_STATES


def sitio_disponible(t: Target):
    page, estado_resp = t.page(), t.estado()
    data, why = parse_estado(estado_resp)
    evidence = [http_evidence(page), http_evidence(estado_resp, body=True)]
    if page.status != 200 and not notice_page(page, data):
        return [result(t, "audit::sitio_disponible", NO_CUMPLE,
                       f"la ruta del PREP respondió {page.status} {page.reason}", evidence)]
    if data is None:
        return [result(t, "audit::sitio_disponible", NO_CUMPLE, why, evidence)]
    if data.get("estado") not in STATES:
        return [result(t, "audit::sitio_disponible", NO_CUMPLE,
                       f"estado.json declara estado {data.get('estado')!r}, no uno de "
                       f"{', '.join(STATES)}", evidence)]
    return [result(t, "audit::sitio_disponible", CUMPLE,
                   f"la ruta del PREP responde {page.status}; estado {data['estado']}", evidence)]


def acceso_libre(t: Target):
    page = t.page()
    issues = []
    data, _ = parse_estado(t.estado())
    if page.status != 200 and not notice_page(page, data):
        issues.append(f"respondió {page.status} {page.reason}")
    if page.header("WWW-Authenticate"):
        issues.append(f"pide autenticación (WWW-Authenticate: {page.header('WWW-Authenticate')})")
    if page.all("Set-Cookie"):
        issues.append("pone cookies: " + "; ".join(c.split(";")[0] for c in page.all("Set-Cookie")))
    start = urlsplit(t.url)
    for status, location in page.redirects:
        target = urlsplit(location)
        if LOGIN_WORDS.search(target.path + "?" + target.query):
            issues.append(f"redirige a un inicio de sesión ({status} {location})")
        elif target.hostname != start.hostname:
            issues.append(f"redirige fuera del sitio ({status} {location})")
    evidence = [http_evidence(page)]
    if issues:
        return [result(t, "audit::acceso_libre", NO_CUMPLE, "; ".join(issues), evidence)]
    shown = "200" if page.status == 200 else f"{page.status} (página de {data['estado']})"
    return [result(t, "audit::acceso_libre", CUMPLE,
                   f"{shown} sin credenciales, sin cookies y sin redirección a un login",
                   evidence)]


def page_and_estado(t: Target, tries: int = 3):
    """The page and estado.json, fetched back to back (not the responses other checks
    cached, which may be a period apart on a live night). A cut switched between the two
    requests shows two cuts for a moment (the activator switches the tree, then writes
    estado.json): a pair that differs is fetched again, up to `tries` times."""
    for _ in range(tries):
        page, estado_resp = t.client.get(t.url), t.client.get(t.url + ESTADO)
        data, _ = parse_estado(estado_resp)
        header = page.header(CUT_HEADER)
        if not (data and header) or _same_cut(header, data):
            break
    return page, estado_resp


def cabecera_corte(t: Target):
    page, estado_resp = page_and_estado(t)
    data, why = parse_estado(estado_resp)
    header = page.header(CUT_HEADER)
    evidence = [http_evidence(page), http_evidence(estado_resp, body=True)]
    issues = []
    if data is None:
        issues.append(why)
    else:
        missing = [k for k in ("corte", "corte_fecha_hora", "activado", "estado") if k not in data]
        if missing:
            issues.append(f"a estado.json le falta {', '.join(missing)}")
        elif data["estado"] != NOT_OPEN and parse_time(data["corte_fecha_hora"]) is None:
            issues.append(f"corte_fecha_hora {data['corte_fecha_hora']!r} no es una fecha "
                          "ISO-8601 con zona horaria")
    if data and data.get("estado") == NOT_OPEN:
        return [result(t, "audit::cabecera_corte", NO_APLICA,
                       "la publicación aún no abre: todavía no hay corte que mostrar", evidence)]
    if not header:
        issues.append(f"la respuesta del PREP no trae la cabecera {CUT_HEADER}")
    elif data and not _same_cut(header, data):
        issues.append(f"{CUT_HEADER}: {header} no coincide con estado.json "
                      f"(corte {data.get('corte')}, {data.get('corte_fecha_hora')})")
    if issues:
        return [result(t, "audit::cabecera_corte", NO_CUMPLE, "; ".join(issues), evidence)]
    return [result(t, "audit::cabecera_corte", CUMPLE,
                   f"{CUT_HEADER}: {header}; estado.json corte {data['corte']} "
                   f"({data['corte_fecha_hora']})", evidence)]


def _same_cut(header: str, data: dict) -> bool:
    value = header.strip()
    if value in (str(data.get("corte")), str(data.get("corte_fecha_hora"))):
        return True
    when, shown = parse_time(data.get("corte_fecha_hora")), parse_time(value)
    return bool(when and shown and when == shown) or str(data.get("corte")) in value


def corte_vigente(t: Target, latest_cut: str | None = None):
    estado_resp = t.estado()
    data, why = parse_estado(estado_resp)
    evidence = [http_evidence(estado_resp, body=True)]
    if data is None:
        return [result(t, "audit::corte_vigente", NO_CUMPLE, why, evidence)]
    state = data.get("estado")
    if state in (NOT_OPEN, CLOSED):
        return [result(t, "audit::corte_vigente", NO_APLICA,
                       f"fuera de la ventana de publicación (estado {state})", evidence)]
    issues = []
    if state == NOTICE:
        issues.append(f"el aviso de interrupción está encendido (estado {NOTICE}): el difusor "
                      "no recibe cortes")
    now = server_now(estado_resp)
    # Fresh as the difusor's watchdog judges it: the signed time, never after its acceptance.
    fresh = freshness(data)
    period = int(data.get("periodo_s") or t.period_s)
    evidence.append(Command("reloj del servidor (cabecera Date)", None, now.isoformat()))
    concluded = state == CONCLUDED and data.get("final") is True
    if fresh is None:
        issues.append(f"activado {data.get('activado')!r} ni emitido {data.get('emitido')!r} "
                      "son fechas ISO-8601 con zona")
    elif not concluded:  # the PREP's final cut stays current until the window closes
        age = (now - fresh).total_seconds()
        # CONV-III.2: MISSED_PERIODS periods without a cut and it is no longer current.
        if age > stale_after_s(period):
            issues.append(f"corte vencido: el último ({data.get('corte')}) se firmó o activó "
                          f"hace {age / 60:.0f} min, más de {MISSED_PERIODS} periodos de "
                          f"{period / 60:.0f} min")
    if latest_cut and str(data.get("corte")) != latest_cut:
        issues.append(f"se muestra el corte {data.get('corte')}, pero el último firmado por el "
                      f"IEC es {latest_cut}")
    if issues:
        return [result(t, "audit::corte_vigente", NO_CUMPLE, "; ".join(issues), evidence)]
    extra = ", igual al del manifiesto" if latest_cut else ""
    what = "PREP concluido: corte final" if concluded else "corte"
    return [result(t, "audit::corte_vigente", CUMPLE,
                   f"{what} {data.get('corte')} activado {data.get('activado')}{extra}",
                   evidence)]


def cabeceras_seguridad(t: Target):
    page = t.page()
    issues = []
    if (page.header("X-Content-Type-Options") or "").strip().lower() != "nosniff":
        issues.append("falta X-Content-Type-Options: nosniff")
    if not page.header("Referrer-Policy"):
        issues.append("falta Referrer-Policy")
    if t.https:
        hsts = page.header("Strict-Transport-Security") or ""
        m = re.search(r"max-age=(\d+)", hsts)
        if not m or int(m.group(1)) < MIN_HSTS_S:
            issues.append(f"Strict-Transport-Security ausente o menor de 180 días ({hsts!r})")
    server = page.header("Server") or ""
    if re.search(r"\d", server):
        issues.append(f"la cabecera Server revela la versión ({server})")
    evidence = [http_evidence(page)]
    if issues:
        return [result(t, "audit::cabeceras_seguridad", NO_CUMPLE, "; ".join(issues), evidence)]
    return [result(t, "audit::cabeceras_seguridad", CUMPLE,
                   "nosniff, Referrer-Policy" + (", HSTS" if t.https else "") +
                   ", sin versión del servidor", evidence)]
