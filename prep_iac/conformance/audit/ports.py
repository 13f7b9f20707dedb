"""CONV-II.d.1 from outside: a bounded TCP connect scan of common service ports, against the
audited host only. Open and not expected (web, and SSH for the IEC) is a finding."""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor

from prep_iac.conformance.audit.common import Target, result
from prep_iac.conformance.audit.pacing import PACER
from prep_iac.conformance.model import CUMPLE, NO_CUMPLE, Command

COMMON_PORTS = (21, 22, 23, 25, 53, 80, 110, 111, 135, 139, 143, 443, 445, 993, 995, 1433,
                2049, 2222, 3000, 3306, 3389, 5000, 5432, 5900, 6379, 8000, 8008, 8080, 8081,
                8443, 8888, 9000, 9090, 9200, 10050, 11211, 27017)
TIMEOUT_S = 1.5


def state(host: str, port: int) -> str:
    PACER.wait()
    try:
        with socket.create_connection((host, port), timeout=TIMEOUT_S):
            return "abierto"
    except ConnectionRefusedError:
        return "cerrado"
    except OSError:
        return "filtrado"


def scan(host: str, ports) -> dict[int, str]:
    with ThreadPoolExecutor(max_workers=8) as pool:
        return dict(zip(ports, pool.map(lambda p: state(host, p), ports)))


def check(t: Target):
    ports = sorted(set(COMMON_PORTS) | t.expected_ports)
    states = scan(t.hostname, ports)
    open_ports = [p for p, s in states.items() if s == "abierto"]
    unexpected = [p for p in open_ports if p not in t.expected_ports]
    ev = [Command(f"conexión TCP a {t.hostname}, {len(ports)} puertos comunes", None,
                  "\n".join(f"{p}/tcp {s}" for p, s in states.items() if s == "abierto") +
                  f"\n(cerrados o filtrados: {len(ports) - len(open_ports)})")]
    expected = ", ".join(str(p) for p in sorted(t.expected_ports))
    if unexpected:
        return [result(t, "audit::puertos", NO_CUMPLE,
                       f"puertos abiertos no esperados: {', '.join(map(str, unexpected))} "
                       f"(esperados: {expected})", ev)]
    return [result(t, "audit::puertos", CUMPLE,
                   f"abiertos: {', '.join(map(str, open_ports)) or 'ninguno'}; "
                   f"esperados: {expected}", ev)]
