"""The difusor's defences proven by what they do, from outside, as an attacker would meet them
(the inside suites read their configuration; this is the behaviour):

- CONV-II.d.2 (intrusion detection that contains web attacks): a handful of web-attack probes
  (SQL injection, path traversal, an exploit probe, a scanner's user agent, a method the PREP
  never takes) must be refused, while an ordinary request of the same page is served.
- CONV-II.d.1 (contains a denial of service): a bounded burst from this one source must meet
  the per-address request limit (429) and the source must be served again once the burst
  stops. Bounded: at most MAX_BURST requests in MAX_BURST_S seconds, stopped after
  STOP_AFTER_429 refusals — far below what the difusor's volume jail bans (300 refusals a
  minute), so the audit is never banned by its own probe.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from prep_iac.conformance.audit.common import ESTADO, Target, http_evidence, result
from prep_iac.conformance.audit.http import Client
from prep_iac.conformance.audit.pacing import REQUESTS
from prep_iac.conformance.model import CUMPLE, MANUAL, NO_CUMPLE, Command

# (what, path and query after the PREP path, extra headers, method)
ATTACKS = (
    ("inyección SQL", "?id=1%27%20OR%20%271%27=%271", {}, "GET"),
    ("recorrido de rutas", "index.html?archivo=..%2f..%2f..%2fetc%2fpasswd", {}, "GET"),
    ("sondeo de exploit", ".env", {}, "GET"),
    ("agente de un escáner", "", {"User-Agent": "sqlmap/1.7.2#stable"}, "GET"),
    ("método que el PREP no acepta", "", {}, "POST"),
)
REFUSED = {400, 403, 405, 444, 501}

MAX_BURST = 1200  # requests, at most
MAX_BURST_S = 12.0  # seconds, at most
STOP_AFTER_429 = 10
PARALLEL = 8  # connections of the burst: enough to outrun a per-address limit over a WAN
REFILL_MARGIN_S = 1.5
UNKNOWN_REFILL_S = 6.0  # without -i: nginx's default burst (200) at 50/s, with a margin


def web_filter(t: Target) -> list:
    """CONV-II.d.2: each web attack refused, the same page served to an ordinary request."""
    evidence, issues = [], []
    REQUESTS.wait()
    control = t.client.request(t.url)
    evidence.append(Command(f"GET {t.url} (control)", control.status, control.head_text()[:300]))
    if control.status >= 400 and control.status not in (503,):
        issues.append(f"la petición ordinaria respondió {control.status}")
    for what, rest, headers, method in ATTACKS:
        REQUESTS.wait()
        resp = t.client.request(t.url + rest, method=method, headers=headers, max_body=4096)
        shown = f"{method} {t.url + rest}" + (f" ({headers['User-Agent']})" if headers else "")
        evidence.append(Command(f"{shown} — {what}", resp.status, f"HTTP {resp.status}"))
        if resp.status not in REFUSED:
            issues.append(f"{what}: respondió {resp.status}, no lo rechazó")
    if issues:
        return [result(t, "audit::filtro_web", NO_CUMPLE, "; ".join(issues), evidence)]
    return [result(t, "audit::filtro_web", CUMPLE,
                   f"{len(ATTACKS)} ataques web rechazados; la petición ordinaria, servida",
                   evidence)]


def _burst(t: Target, budget: int, deadline: float) -> tuple[dict[int, int], int, float]:
    """Requests for estado.json on PARALLEL connections until the budget, the deadline or
    STOP_AFTER_429 refusals; returns (status -> count, errors, seconds)."""
    counts: dict[int, int] = {}
    errors = [0]
    lock = threading.Lock()
    sent = [0]
    started = time.monotonic()

    def worker() -> None:
        client = Client(t.context, timeout=5.0)
        try:
            while time.monotonic() < deadline:
                with lock:
                    if sent[0] >= budget or counts.get(429, 0) >= STOP_AFTER_429:
                        return
                    sent[0] += 1
                try:
                    status = client.request(t.url + ESTADO, max_body=65536).status
                except OSError:
                    with lock:
                        errors[0] += 1
                    client.close()
                    continue
                with lock:
                    counts[status] = counts.get(status, 0) + 1
        finally:
            client.close()

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        for _ in range(PARALLEL):
            pool.submit(worker)
    return counts, errors[0], time.monotonic() - started


def request_limit(t: Target) -> list:
    """CONV-II.d.1: a bounded burst meets the per-address limit (429); afterwards the same
    source is served again."""
    if t.rate_limits:
        rate, burst = t.rate_limits
        budget = min(MAX_BURST, burst + int(rate * MAX_BURST_S) + 50)
        refill_s = burst / rate + REFILL_MARGIN_S
    else:
        rate, budget, refill_s = None, MAX_BURST, UNKNOWN_REFILL_S
    counts, errors, seconds = _burst(t, budget, time.monotonic() + MAX_BURST_S)
    total = sum(counts.values()) + errors
    achieved = total / seconds if seconds else 0.0
    time.sleep(refill_s)  # the limit's bucket refills: what follows is an ordinary visitor
    REQUESTS.wait()
    after = t.client.request(t.url + ESTADO)
    declared = f"límite declarado {rate}/s" if rate else "sin -i: límite declarado desconocido"
    evidence = [
        Command(f"ráfaga acotada: GET {t.url + ESTADO} en {PARALLEL} conexiones, a lo sumo "
                f"{budget} solicitudes en {MAX_BURST_S:.0f} s ({declared})", None,
                f"{total} solicitudes en {seconds:.1f} s = {achieved:.0f}/s; respuestas: "
                + ", ".join(f"{s}×{n}" for s, n in sorted(counts.items()))
                + (f"; {errors} errores de conexión" if errors else "")),
        http_evidence(after)]
    refused = counts.get(429, 0)
    served_after = after.status in (200, 503)  # 503: the notice page, the site still answers
    if refused and served_after:
        return [result(t, "audit::limite_solicitudes", CUMPLE,
                       f"la ráfaga encontró el límite por dirección ({refused} respuestas 429 "
                       f"tras {total} solicitudes) y la misma dirección vuelve a ser servida",
                       evidence)]
    if refused:
        return [result(t, "audit::limite_solicitudes", NO_CUMPLE,
                       f"tras la ráfaga la misma dirección no es servida ({after.status}) "
                       f"{refill_s:.0f} s después: el límite niega el servicio", evidence)]
    if rate and achieved > 1.5 * rate and total > budget // 2:
        return [result(t, "audit::limite_solicitudes", NO_CUMPLE,
                       f"{total} solicitudes a {achieved:.0f}/s desde una dirección, más que el "
                       f"límite declarado ({rate}/s, ráfaga {t.rate_limits[1]}), sin un solo "
                       "429: nada contiene la inundación", evidence)]
    return [result(t, "audit::limite_solicitudes", MANUAL,
                   f"desde aquí sólo se alcanzaron {achieved:.0f} solicitudes/s sin ver el "
                   f"límite ({declared}): el enlace o la latencia del auditor no bastan; "
                   "repita desde más cerca o adjunte la prueba de carga del laboratorio",
                   evidence)]
