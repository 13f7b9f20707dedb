"""Every prep unit is sandboxed (issue 17, point 7; docs/security.md "Unit sandboxes"): the
rendered units carry the directives, the sweep has exactly the main activator's sandbox, and
root units keep only the capabilities written here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from prep_iac import contract
from prep_iac.components import activator, nginx, watchdog
from prep_iac.components.common import render

REPO = Path(__file__).resolve().parents[2]

PUBLISHER_CTX = {"service_user": contract.PUBLISHER_USER, "venv": contract.PUBLISHER_VENV,
                 "registry": contract.PUBLISHER_REGISTRY, "period_s": 60,
                 "state_dir": contract.PUBLISHER_STATE_DIR,
                 "drop_dir": contract.PUBLISHER_DROP_DIR}


class _Iec:
    period_s = 60


def units() -> dict[str, str]:
    """Every prep-* service template, rendered with the context its component passes."""
    act = activator.unit_context(_Iec())
    return {
        "prep-activator.service": render("activator", "prep-activator.service.j2", **act),
        "prep-activator-sweep.service": render("activator", "prep-activator-sweep.service.j2",
                                               **act),
        "prep-watchdog.service": render("watchdog", "prep-watchdog.service.j2",
                                        interval_s=2, period_s=10, **watchdog.SERVICE_CONTEXT),
        "prep-publisher.service": render("publisher", "prep-publisher.service.j2",
                                         **PUBLISHER_CTX),
        "prep-acme-issue.service": render("tls", "prep-acme-issue.service.j2",
                                          issue="/usr/local/sbin/prep-acme-issue"),
    }


def service_section(text: str) -> list[tuple[str, str]]:
    """(key, value) of the [Service] section, in order, comments dropped."""
    out, inside = [], False
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("["):
            inside = line == "[Service]"
        elif inside and line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out.append((key, value))
    return out


def directives(text: str) -> dict[str, list[str]]:
    d: dict[str, list[str]] = {}
    for key, value in service_section(text):
        d.setdefault(key, []).append(value)
    return d


COMMON = {"NoNewPrivileges": "yes", "PrivateTmp": "yes", "PrivateDevices": "yes",
          "ProtectHome": "yes", "ProtectSystem": "strict", "ProtectKernelTunables": "yes",
          "ProtectKernelModules": "yes", "ProtectKernelLogs": "yes",
          "ProtectControlGroups": "yes", "ProtectClock": "yes", "ProtectHostname": "yes",
          "ProtectProc": "invisible", "ProcSubset": "pid", "RestrictNamespaces": "yes",
          "RestrictRealtime": "yes", "RestrictSUIDSGID": "yes", "LockPersonality": "yes",
          "MemoryDenyWriteExecute": "yes", "SystemCallArchitectures": "native",
          "AmbientCapabilities": ""}
CAPABILITIES = {"prep-activator.service": "CAP_DAC_OVERRIDE",
                "prep-activator-sweep.service": "CAP_DAC_OVERRIDE",
                "prep-watchdog.service": "", "prep-publisher.service": "",
                "prep-acme-issue.service": "CAP_CHOWN CAP_DAC_OVERRIDE CAP_FOWNER "
                                           "CAP_DAC_READ_SEARCH CAP_NET_BIND_SERVICE"}
FAMILIES = {"prep-activator.service": "AF_UNIX", "prep-activator-sweep.service": "AF_UNIX",
            "prep-watchdog.service": "AF_UNIX",
            "prep-publisher.service": "AF_UNIX AF_INET AF_INET6",
            "prep-acme-issue.service": "AF_UNIX AF_INET AF_INET6"}
OFFLINE = ("prep-activator.service", "prep-activator-sweep.service", "prep-watchdog.service")


def test_every_prep_service_template_is_covered():
    found = {p.name.removesuffix(".j2") for p in (REPO / "templates").glob("*/*.service*")
             if "[Service]" in p.read_text(encoding="utf-8")}
    assert found == set(units())


@pytest.mark.parametrize("unit", sorted(units()))
def test_unit_has_the_sandbox(unit):
    d = directives(units()[unit])
    for key, value in COMMON.items():
        assert d.get(key) == [value], f"{unit}: {key}={d.get(key)}, want {value!r}"
    assert d["CapabilityBoundingSet"] == [CAPABILITIES[unit]]
    assert d["RestrictAddressFamilies"] == [FAMILIES[unit]]
    assert d["SystemCallFilter"][0] == "@system-service"
    assert all(v.startswith("~") for v in d["SystemCallFilter"][1:])
    denied = {name for v in d["SystemCallFilter"][1:] for name in v[1:].split()}
    assert "@resources" in denied
    assert re.fullmatch(r"0[0-7]{3}", d["UMask"][0])
    assert d["ReadWritePaths"], f"{unit}: strict with nothing writable cannot be right"
    if unit in OFFLINE:
        assert d["PrivateNetwork"] == ["yes"] and d["IPAddressDeny"] == ["any"]
    if unit != "prep-acme-issue.service":  # certbot and nginx -t chown: @privileged stays
        assert "~@privileged @resources" in d["SystemCallFilter"]


def test_sweep_has_exactly_the_activators_sandbox():
    """Issue 17 point 7: the sweep runs the same root code, so it gets the same fence."""
    not_sandbox = {"ExecStart", "SyslogIdentifier", "Type", "Nice", "IOSchedulingClass",
                   "IOSchedulingPriority"}
    main, sweep = (units()[u] for u in ("prep-activator.service",
                                        "prep-activator-sweep.service"))
    pick = [[kv for kv in service_section(t) if kv[0] not in not_sandbox] for t in (main, sweep)]
    assert pick[0] == pick[1]


def test_writable_paths_are_the_contracts():
    d = {u: directives(t) for u, t in units().items()}
    assert d["prep-activator.service"]["ReadWritePaths"] == [
        (f"{contract.PREP_ROOT} {contract.JAIL_ROOT} {contract.ACTIVATOR_STATE_DIR} "
        f"-{contract.WATCHDOG_STATE_DIR}")]  # its own pass of the watchdog after a cut
    assert d["prep-watchdog.service"]["ReadWritePaths"] == [
        f"{contract.PREP_ROOT} {contract.WATCHDOG_STATE_DIR}"]
    assert d["prep-publisher.service"]["ReadWritePaths"] == [contract.PUBLISHER_STATE_DIR]
    acme = d["prep-acme-issue.service"]["ReadWritePaths"][0].split()
    assert contract.ACME_WEBROOT in acme and nginx.TLS_DIR in acme
