"""Every requirement of the convocatoria has checks, or says "manual" with the evidence asked;
every check names a real requirement."""

import re
from pathlib import Path

import pytest

from prep_iac.conformance.audit.registry import AUDIT_CHECKS
from prep_iac.conformance.checkids import check_id, suite_check_ids, suite_requirements
from prep_iac.conformance.requirements import BY_ID, CONVOCATORIA, REQUIREMENTS

SHARED = Path(__file__).resolve().parents[3] / "shared" / "REQUIREMENTS.md"


def test_ids_match_requirements_md():
    if not SHARED.exists():
        pytest.skip(f"{SHARED} is not beside this checkout")
    ids = re.findall(r"^\| (CONV-[\w.]+) \|", SHARED.read_text(), re.MULTILINE)
    assert ids == [r.id for r in CONVOCATORIA]


def test_every_requirement_has_checks_or_asks_for_evidence():
    inside = suite_requirements()
    outside = {r for reqs, _ in AUDIT_CHECKS.values() for r in reqs}
    for req in REQUIREMENTS:
        automated = req.id in inside or req.id in outside
        assert automated or req.evidencia_manual, f"{req.id} has no check and asks no evidence"


def test_my_requirements_have_inside_checks():
    inside = suite_requirements()
    for req in ("CONV-II.c.1", "CONV-II.c.2", "CONV-II.c.3", "CONV-II.b.1", "CONV-I.1"):
        assert req in inside, req


def test_checks_name_known_requirements():
    for req, checks in suite_requirements().items():
        assert req in BY_ID, f"{sorted(checks)} name unknown requirement {req}"
    for check, (reqs, title) in AUDIT_CHECKS.items():
        assert check.startswith("audit::") and title
        assert all(r in BY_ID for r in reqs), check


def test_check_ids():
    # The derived id: only for a check whose marker names none (the unit tests refuse that).
    assert check_id("prep_iac/conformance/suites/test_hardware.py::test_memoria") == \
        "hardware::memoria"
    assert check_id("suites/test_security.py::test_port[22]") == "security::port[22]"
    assert "hardware::disco" in suite_check_ids()


def test_optional_requirements_are_ha_and_the_request_for_assessment():
    # The call says "preferentemente" of HA, and the difusor "podrá" send its
    # infrastructure for assessment (II.f); everything else is mandatory.
    assert [r.id for r in CONVOCATORIA if not r.mandatory] == ["CONV-II.a.2", "CONV-II.f"]
    # The informative rows (what the call does not ask) never decide the exit code.
    assert all(not r.mandatory for r in REQUIREMENTS if r.id.startswith("INF-"))


def test_the_os_row_follows_the_call_and_support_is_its_own_row():
    assert suite_requirements()["CONV-II.c.3"] == {"os::linux"}
    assert "os::distribucion_soportada" in suite_requirements()["INF-soporte"]


def test_tls_and_headers_are_not_filed_under_requirements_they_do_not_prove():
    for check in ("audit::tls_protocolos", "audit::tls_cifrados", "audit::tls_certificado"):
        assert AUDIT_CHECKS[check][0] == ("INF-tls",)
    assert AUDIT_CHECKS["audit::cabeceras_seguridad"][0] == ("INF-cabeceras",)
