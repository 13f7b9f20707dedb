"""The audit's behaviour probes (issue 19, point 2) against local stand-ins on 127.0.0.1: a
difusor that refuses web attacks and limits a burst per address passes; one that serves
every attack, floods without a limit, or keeps refusing after the burst fails."""

from __future__ import annotations

import http.server
import threading
import time
from typing import ClassVar

import pytest

from prep_iac.conformance.audit import defenses
from prep_iac.conformance.audit.run import build_target
from prep_iac.conformance.model import CUMPLE, MANUAL, NO_CUMPLE

ATTACK_MARKS = ("%27", "..%2f", ".env")


class Defended(http.server.BaseHTTPRequestHandler):
    """A tiny difusor: refuses the attacks (403/405) and, when ``limit`` is set, answers 429
    to estado.json beyond ``limit`` requests in ``window`` seconds (a token bucket, roughly)."""

    protocol_version = "HTTP/1.1"
    filters = True
    limit: int | None = None
    window = 0.5
    stuck = False  # keep refusing after the burst (a limit that denies service)
    lock = threading.Lock()
    seen: ClassVar[list[float]] = []

    def _send(self, status: int, body: bytes = b"") -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.filters and (any(m in self.path for m in ATTACK_MARKS)
                             or "sqlmap" in self.headers.get("User-Agent", "")):
            return self._send(403)
        if self.path.endswith("estado.json") and self.limit is not None:
            now = time.monotonic()
            with self.lock:
                self.seen[:] = [t for t in self.seen if now - t < self.window]
                over = len(self.seen) >= self.limit or (self.stuck and self.seen)
                self.seen.append(now)
            if over:
                return self._send(429)
        return self._send(200, b'{"estado": "publicando"}')

    def do_POST(self):
        self._send(405 if self.filters else 200)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    made = []

    def start(**attrs):
        handler = type("H", (Defended,), {**attrs, "seen": []})
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        srv.daemon_threads = True
        threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True).start()
        made.append(srv)
        return f"http://127.0.0.1:{srv.server_address[1]}/"

    yield start
    for srv in made:
        srv.shutdown()
        srv.server_close()


def target(url, rate_limits=None):
    t, _ = build_target(url, portals=["http://portal.lab"])
    t.rate_limits = rate_limits
    return t


@pytest.fixture(autouse=True)
def short(monkeypatch):
    monkeypatch.setattr(defenses, "MAX_BURST_S", 2.0)
    monkeypatch.setattr(defenses, "REFILL_MARGIN_S", 0.6)
    monkeypatch.setattr(defenses, "UNKNOWN_REFILL_S", 0.6)


def test_web_attacks_refused_and_the_page_served(server):
    r = defenses.web_filter(target(server()))[0]
    assert r.status == CUMPLE and r.requirements == ["CONV-II.d.2"], r.detail
    assert len(r.evidence) == 1 + len(defenses.ATTACKS)


def test_a_site_that_serves_the_attacks_fails(server):
    r = defenses.web_filter(target(server(filters=False)))[0]
    assert r.status == NO_CUMPLE
    assert "inyección SQL: respondió 200" in r.detail and "método" in r.detail


def test_a_burst_meets_the_limit_and_the_source_is_served_again(server):
    t = target(server(limit=20), rate_limits=(40, 0))
    r = defenses.request_limit(t)[0]
    assert r.status == CUMPLE and r.requirements == ["CONV-II.d.1"], r.detail
    assert "429×" in r.evidence[0].output


def test_a_flood_without_a_limit_fails(server):
    r = defenses.request_limit(target(server(), rate_limits=(5, 1)))[0]
    assert r.status == NO_CUMPLE and "sin un solo 429" in r.detail, r.detail


def test_a_limit_that_keeps_refusing_denies_service(server):
    t = target(server(limit=5, stuck=True, window=60.0), rate_limits=(40, 0))
    r = defenses.request_limit(t)[0]
    assert r.status == NO_CUMPLE and "niega el servicio" in r.detail, r.detail


def test_without_the_declared_limit_and_no_429_it_is_owed(server):
    r = defenses.request_limit(target(server()))[0]
    assert r.status == MANUAL and "límite declarado desconocido" in r.evidence[0].command


def test_the_burst_is_bounded(server, monkeypatch):
    monkeypatch.setattr(defenses, "MAX_BURST", 60)
    r = defenses.request_limit(target(server()))[0]
    assert 0 < int(r.evidence[0].output.split()[0]) <= 60
