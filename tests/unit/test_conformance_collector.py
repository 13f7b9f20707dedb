"""The collector plugin turns pytest outcomes into the report's statuses, with the commands
each check ran as evidence (testinfra's local backend stands in for SSH)."""

import json
import subprocess
import sys

import pytest

SUITE = '''
import pytest
from prep_iac.conformance.suites.checks import manual, not_applicable


@pytest.mark.conv("CONV-II.c.3", devsec="os-01")
def test_ok(host):
    """Título del ok"""
    assert host.run("echo hola").stdout.strip() == "hola"


@pytest.mark.conv("CONV-II.c.1")
def test_falla(host):
    n = host.check_output("echo 1")
    assert int(n) >= 2, f"{n} núcleo(s), se piden 2"


@pytest.mark.conv("CONV-II.e")
def test_na(host):
    not_applicable("en un contenedor")


@pytest.mark.conv("CONV-II.c.2")
def test_manual(host):
    manual("la hoja técnica del servidor")


@pytest.mark.conv("CONV-I.6")
def test_pytest_fail(host):
    host.file("/etc/hostname").exists
    pytest.fail("sin frame-ancestors")


@pytest.mark.conv("CONV-I.9")
def test_error(host):
    raise RuntimeError("boom")


@pytest.mark.conv("CONV-II.b.1")
def test_declarado(host, evidencia):
    evidencia("inventario x: link_mbps", 100)


@pytest.mark.conv("CONV-II.c.3", id="demo::nombre_anterior")
def test_nombre_nuevo(host):
    """Renombrada: su id sigue siendo el de su marca"""


@pytest.mark.conv("CONV-II.c.3", id="demo::paquete")
@pytest.mark.parametrize("package", ["telnetd", "nis"])
def test_paquetes_ausentes(host, package):
    pass
'''

BROKEN = '''
import pytest
import no_such_module_here


@pytest.mark.conv("CONV-IV.1", id="otra::algo")
def test_algo(host):
    pass
'''

CONFTEST = '''
from prep_iac.conformance.suites.conftest import (  # noqa: F401
    _record_commands, evidencia, pytest_configure)
'''


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return run(tmp_path_factory.mktemp("collector"))


def run(tmp_path):
    suites = tmp_path / "suites"
    suites.mkdir()
    (suites / "conftest.py").write_text(CONFTEST)
    (suites / "test_demo.py").write_text(SUITE)
    (suites / "test_roto.py").write_text(BROKEN)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    out = tmp_path / "r.json"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", str(suites), "-c", str(tmp_path / "pytest.ini"),
         "--rootdir", str(suites), "-p", "prep_iac.conformance.collector", "-p",
         "no:cacheprovider", "-q", "-o", "addopts=", "--continue-on-collection-errors",
         "--hosts=local://",
         f"--prep-results={out}", "--prep-host=difusor-1"],
        capture_output=True, text=True, timeout=120, check=False)
    assert out.exists(), proc.stdout + proc.stderr
    return {r["check"]: r for r in json.loads(out.read_text())}


def test_statuses_and_evidence(results):
    r = results
    ok = r["demo::ok"]
    assert ok["status"] == "cumple" and ok["title"] == "Título del ok"
    assert ok["requirements"] == ["CONV-II.c.3"] and ok["devsec"] == "os-01"
    assert ok["host"] == "difusor-1"
    assert ok["evidence"] == [{"command": "echo hola", "rc": 0, "output": "hola\n"}]
    fail = r["demo::falla"]
    assert fail["status"] == "no cumple"
    assert fail["detail"].startswith("1 núcleo(s), se piden 2")
    assert fail["evidence"][0]["command"] == "echo 1"
    assert r["demo::na"]["status"] == "no aplica"
    assert r["demo::na"]["detail"] == "en un contenedor"
    assert r["demo::manual"]["status"] == "manual"
    assert r["demo::manual"]["detail"] == "la hoja técnica del servidor"
    pf = r["demo::pytest_fail"]
    assert pf["status"] == "no cumple" and pf["detail"] == "sin frame-ancestors"
    assert any("/etc/hostname" in e["command"] for e in pf["evidence"])
    err = r["demo::error"]
    assert err["status"] == "no cumple" and "RuntimeError: boom" in err["detail"]
    assert r["demo::declarado"]["evidence"] == [
        {"command": "inventario x: link_mbps", "rc": None, "output": "100"}]


def test_a_suite_that_does_not_import_fails_its_requirements(results):
    r = results
    broken = r["roto::importar"]
    assert broken["status"] == "no cumple" and broken["requirements"] == ["CONV-IV.1"]
    assert "no_such_module_here" in broken["detail"]


def test_the_marker_id_names_the_check_not_the_function(results):
    r = results
    assert r["demo::nombre_anterior"]["status"] == "cumple"
    assert "demo::nombre_nuevo" not in r
    assert r["demo::nombre_anterior"]["title"] == "Renombrada: su id sigue siendo el de su marca"
    # Parameters stay in the id, after the marker's; the testinfra host does not.
    assert {c for c in r if c.startswith("demo::paquete")} == {
        "demo::paquete[telnetd]", "demo::paquete[nis]"}
