"""A bounded request flood from a second lab address, and a probe from the usual one.

The flood comes from an extra address on the lab's bridge, so what the difusor does to it
(429s, dropped connections, a ban) never touches the drill's own observers. Both loops stop
by themselves after `seconds`.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import subprocess
import threading
import time

from prep_iac.simulacro.http import Client, Target

FLOOD_THREADS = 6
PROBE_INTERVAL = 0.1
FLOOD_HOST_INDEX = 250  # .250 of the lab's subnet: no lab host uses it


@contextlib.contextmanager
def extra_address(lab):
    net = ipaddress.ip_network(lab.spec.subnet)
    address = str(net.network_address + FLOOD_HOST_INDEX)
    spec = f"{address}/{net.prefixlen}"
    subprocess.run(["ip", "addr", "add", spec, "dev", lab.spec.bridge], check=True,
                   capture_output=True)
    try:
        yield address
    finally:
        subprocess.run(["ip", "addr", "del", spec, "dev", lab.spec.bridge], capture_output=True,
                       check=False)


class _SourceBoundHTTPS(http.client.HTTPSConnection):
    def __init__(self, host, source, context, timeout):
        super().__init__(host, timeout=timeout, context=context, source_address=(source, 0))


def _flood(target: Target, source: str, until: float, stats: dict, lock: threading.Lock):
    host = target.base_url.split("//", 1)[1].split("/")[0]
    conn = None
    while time.monotonic() < until:
        try:
            if conn is None:
                conn = _SourceBoundHTTPS(host, source, target.context(), timeout=2)
            conn.request("GET", "/estado.json", headers={"User-Agent": "flood/1"})
            resp = conn.getresponse()
            resp.read()
            key = "flood_429" if resp.status == 429 else "flood_other"
        except (OSError, http.client.HTTPException):
            conn, key = None, "flood_refused"
        with lock:
            stats["flood_requests"] += 1
            stats[key] += 1


def _probe(target: Target, until: float, latencies: list, failures: list):
    client = Client(target, timeout=2.0)
    while time.monotonic() < until:
        try:
            resp = client.get("/estado.json")
            (latencies if resp.status == 200 else failures).append(resp.seconds)
        except OSError:
            failures.append(None)
        time.sleep(PROBE_INTERVAL)
    client.close()


def flood_and_measure(lab, target: Target, seconds: int) -> dict:
    stats = {"flood_requests": 0, "flood_429": 0, "flood_other": 0, "flood_refused": 0}
    lock = threading.Lock()
    latencies: list[float] = []
    failures: list = []
    with extra_address(lab) as source:
        until = time.monotonic() + seconds
        threads = [threading.Thread(target=_flood, args=(target, source, until, stats, lock),
                                    daemon=True) for _ in range(FLOOD_THREADS)]
        threads.append(threading.Thread(target=_probe, args=(target, until, latencies, failures),
                                        daemon=True))
        for t in threads:
            t.start()
        for t in threads:
            t.join(seconds + 10)
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] if ordered else None
    return {**stats, "source": source, "probe_total": len(latencies) + len(failures),
            "probe_ok": len(latencies),
            "probe_p99_ms": round(p99 * 1000, 1) if p99 is not None else None}


__all__ = ["flood_and_measure"]
