"""Check ids are explicit and stable: each suite check names its id in its conv marker (read
from the source, never derived from the function's name), the audit's are its registry's keys,
and no two checks share one. Renaming a test function never breaks a waiver."""

import ast
from pathlib import Path

import yaml

from prep_iac.conformance import checkids
from prep_iac.conformance.audit.registry import AUDIT_CHECKS
from prep_iac.conformance.checkids import (
    ID_FORMAT,
    id_problems,
    suite_check_ids,
    suite_checks,
    suite_requirements,
)
from prep_iac.conformance.known import VERIFY_CHECKS, known_ids

AUDIT_DIR = Path(checkids.__file__).resolve().parent / "audit"
REPO = Path(__file__).resolve().parents[2]


def test_every_suite_check_has_its_own_explicit_id():
    assert suite_checks(), "no suite check found"
    assert id_problems(other_ids=set(AUDIT_CHECKS) | VERIFY_CHECKS) == []


def test_ids_read_from_the_markers():
    ids = suite_check_ids()
    assert "hardware::disco" in ids and "security::sshd_setting" in ids
    by_function = {(c.suite, c.function): c for c in suite_checks()}
    memoria = by_function["hardware", "test_memoria"]
    assert memoria.explicit and memoria.id == "hardware::memoria"
    assert memoria.requirements == {"CONV-II.c.1"}
    assert "hardware::memoria" in suite_requirements()["CONV-II.c.1"]


def test_waivers_in_the_repository_name_known_ids():
    known = known_ids()
    for path in sorted((REPO / "inventories").glob("*waivers*.yml")):
        for entry in yaml.safe_load(path.read_text())["waivers"]:
            assert checkids.base_id(entry["id"]) in known, (path.name, entry["id"])


def _audit_ids_used() -> set[str]:
    """Every literal check id the audit's modules pass to result(...)."""
    used = set()
    for path in sorted(AUDIT_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "result" \
                    and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant):
                used.add(node.args[1].value)
    return used


def test_audit_ids_are_the_registry_s_and_all_used():
    used = _audit_ids_used()
    assert used == set(AUDIT_CHECKS), (sorted(used - set(AUDIT_CHECKS)),
                                       sorted(set(AUDIT_CHECKS) - used))
    assert all(ID_FORMAT.fullmatch(i) and i.startswith("audit::") for i in AUDIT_CHECKS)
    assert all(ID_FORMAT.fullmatch(i) for i in VERIFY_CHECKS)


SUITE = '''
import pytest


@pytest.mark.conv("CONV-II.c.1", id="demo::disco")
def test_disco_renombrado(host):
    pass


@pytest.mark.conv("CONV-II.c.1", devsec="os-01")
def test_sin_id(host):
    pass


@pytest.mark.conv("CONV-II.c.3", id="demo::disco")
def test_otro_con_el_mismo(host):
    pass


@pytest.mark.conv("CONV-II.c.3", id="Demo: Mal")
def test_mal_escrito(host):
    pass
'''


def test_a_renamed_function_keeps_its_id_and_problems_are_named(tmp_path):
    (tmp_path / "test_demo.py").write_text(SUITE)
    (tmp_path / "test_modulo.py").write_text(
        'import pytest\npytestmark = pytest.mark.conv("CONV-VI", id="modulo::todo")\n\n\n'
        'def test_x(host):\n    pass\n')
    checks = {c.function: c for c in suite_checks(tmp_path)}
    assert checks["test_disco_renombrado"].id == "demo::disco"
    # Without an explicit id a check still reports (derived), but the unit tests refuse it.
    assert checks["test_sin_id"].id == "demo::sin_id" and not checks["test_sin_id"].explicit
    assert suite_requirements(tmp_path)["CONV-II.c.1"] == {"demo::disco", "demo::sin_id"}
    problems = "\n".join(id_problems(tmp_path, other_ids={"audit::puertos"}))
    assert "test_sin_id: its conv marker names no id" in problems
    assert "test_otro_con_el_mismo: id 'demo::disco' is already" in problems
    assert "test_mal_escrito: id 'Demo: Mal' is not area::name" in problems
    assert "test_modulo.py: pytestmark gives an id=" in problems
    (tmp_path / "test_audit.py").write_text(
        'import pytest\n\n\n@pytest.mark.conv("CONV-I.1", id="audit::puertos")\n'
        'def test_y(host):\n    pass\n')
    assert "id 'audit::puertos' is already another part" in "\n".join(id_problems(
        tmp_path, other_ids={"audit::puertos"}))
