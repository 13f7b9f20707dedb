"""CONV-II.b.1 from outside: a bounded sustained download measures a lower bound of the
link (the auditor's own link may be the bottleneck), and a cut must cross the declared link
well within one period."""

from __future__ import annotations

import time
from urllib.parse import quote

from prep_iac.conformance.audit.common import Target, result
from prep_iac.conformance.audit.http import Client
from prep_iac.conformance.audit.pacing import REQUESTS
from prep_iac.conformance.model import CUMPLE, MANUAL, NO_CUMPLE, Command

MIN_MBPS = 10
DURATION_S = 4.0
MAX_BYTES = 256 * 2**20
# A cut has to arrive with time to spare: half a period at most on the declared link.
SHARE_OF_PERIOD = 0.5


class _Counter:
    def __init__(self):
        self.bytes = 0

    def __call__(self, chunk: bytes) -> None:
        self.bytes += len(chunk)


def sustained(t: Target, urls: list[str]) -> tuple[int, float]:
    """(bytes, seconds) of repeated downloads for about DURATION_S, on its own connection."""
    client = Client(t.context)
    total, started = 0, time.monotonic()
    try:
        while time.monotonic() - started < DURATION_S and total < MAX_BYTES:
            for url in urls:
                REQUESTS.wait()
                counter = _Counter()
                resp = client.request(url, sink=counter)
                if resp.status != 200:
                    # A rate limit or an error page measures nothing about the link.
                    return total, time.monotonic() - started
                total += counter.bytes
                if time.monotonic() - started >= DURATION_S or total >= MAX_BYTES:
                    break
    finally:
        client.close()
    return total, time.monotonic() - started


def check(t: Target, manifest=None):
    if manifest is not None:
        # The largest file alone: requests are paced, so bigger bodies measure more of the link.
        largest = max(manifest.entries, key=lambda e: e.size)
        urls = [t.url + quote(largest.path)]
    else:
        urls = [t.url]
    size, seconds = sustained(t, urls)
    mbps = size * 8 / seconds / 1e6 if seconds else 0.0
    lines = [f"{size} bytes en {seconds:.1f} s = {mbps:.1f} Mbps (cota inferior)"]
    issues, undecided = [], []
    declared = t.link_mbps  # never assumed: without -i the cut's fit is not decided
    if declared is None:
        undecided.append("sin -i INVENTARIO no se conoce el enlace declarado (link_mbps)")
    elif manifest is not None:
        cut_s = manifest.total_bytes * 8 / (declared * 1e6)
        # The whole cut bounds any delta from above (a delta sends only the changed files).
        lines.append(f"corte {manifest.cut_id} completo (cota superior de un delta): "
                     f"{manifest.total_bytes} bytes → {cut_s:.0f} s a {declared} Mbps "
                     f"declarados (periodo {t.period_s} s)")
        if cut_s > SHARE_OF_PERIOD * t.period_s:
            issues.append(f"un corte completo ({manifest.total_bytes / 1e6:.1f} MB) tarda "
                          f"{cut_s:.0f} s a {declared} Mbps, más de la mitad del periodo")
    if manifest is None:
        undecided.append("sin --manifest no se sabe el tamaño de un corte")
    if mbps < MIN_MBPS:
        undecided.append(f"desde aquí se midieron {mbps:.1f} Mbps, menos de {MIN_MBPS}: el "
                         "enlace del auditor puede ser el límite; se pide el contrato del enlace")
    ev = [Command(f"descarga sostenida de {len(urls)} archivo(s) durante {DURATION_S:.0f} s",
                  None, "\n".join(lines))]
    if issues:
        return [result(t, "audit::enlace", NO_CUMPLE, "; ".join(issues), ev)]
    if undecided:
        return [result(t, "audit::enlace", MANUAL, f"{mbps:.1f} Mbps medidos; " +
                       "; ".join(undecided), ev)]
    return [result(t, "audit::enlace", CUMPLE,
                   f"{mbps:.1f} Mbps sostenidos medidos desde aquí (≥ {MIN_MBPS}); el corte "
                   "cabe en el periodo", ev)]
