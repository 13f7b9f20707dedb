"""The contract is defined once (prep_iac/contract.py), and the host programs can run from it.

- No module of prep_iac/ (nor bench/ or deploys/) spells one of the contract's paths,
  accounts, file names or formats as a literal of its own: a literal copy is what drifts.
- prep_iac/onhost/ imports neither pyinfra, pydantic, click nor testinfra, and what a
  difusor gets of it (components.onhost.library_files) runs on its own, with python3 -I.
- Cut ids are matched whole; the time inside one is parsed by parse_cut_id alone.
"""

import ast
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from stamps import stamp

from prep_iac import contract
from prep_iac.components import onhost
from prep_iac.paths import PACKAGE_DIR, REPO_DIR

# Values distinctive enough that any literal containing them is a second definition.
DISTINCTIVE = {
    name: getattr(contract, name) for name in (
        "PREP_ROOT", "WEB_ROOT", "ACME_WEBROOT", "JAIL_ROOT", "ONHOST_LIB", "ACTIVATOR_ETC",
        "ACTIVATOR_STATE_DIR", "WATCHDOG_ETC", "WATCHDOG_STATE_DIR", "PUBLISHER_ETC",
        "PUBLISHER_STATE_DIR", "PUBLISHER_DROP_DIR", "SFTP_GROUP", "ADMIN_GROUP",
        "MANIFEST_FORMAT", "SIGNATURE_NAMESPACE", "MANIFEST_SUFFIX", "JAIL_LAST_RESULT")
}
FORBIDDEN_ON_HOST = {"pyinfra", "pydantic", "click", "testinfra", "rich", "yaml", "jinja2"}
# The publisher's engine runs with Debian's paramiko and jinja2 besides the standard library.
PUBLISHER_EXTRAS = {"paramiko", "jinja2"}


def python_files(*roots):
    for root in roots:
        yield from sorted(p for p in Path(root).rglob("*.py") if "__pycache__" not in p.parts)


def code_strings(tree):
    """String constants that are not docstrings (docstrings explain; they define nothing)."""
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in docstrings:
            yield node


def test_no_module_retypes_a_value_of_the_contract():
    found = []
    roots = [PACKAGE_DIR, REPO_DIR / "bench", REPO_DIR / "deploys"]
    for path in python_files(*roots):
        if path == PACKAGE_DIR / "contract.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in code_strings(tree):
            for name, value in DISTINCTIVE.items():
                if value in node.value:
                    found.append(f"{path.relative_to(REPO_DIR)}:{node.lineno} has {value!r} "
                                 f"(use contract.{name})")
    assert not found, "\n".join(found)


def imported_roots(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module


@pytest.mark.parametrize("path", list(python_files(PACKAGE_DIR / "onhost")),
                         ids=lambda p: p.relative_to(PACKAGE_DIR).as_posix())
def test_host_programs_import_only_what_hosts_have(path):
    on_publisher = "publisher" in path.relative_to(PACKAGE_DIR / "onhost").parts
    allowed_prep = ("prep_iac.contract", "prep_iac.onhost", "prep_iac.errors", "prep_iac.paths")
    for module in imported_roots(path):
        top = module.split(".")[0]
        assert top not in FORBIDDEN_ON_HOST or (on_publisher and top in PUBLISHER_EXTRAS), \
            f"{path.name} imports {module}"
        if top == "prep_iac":
            if module == "prep_iac":
                continue  # `from prep_iac import contract`
            assert module.startswith(allowed_prep), f"{path.name} imports {module}"
            if not on_publisher:  # a difusor has the contract and onhost's modules only
                assert module.startswith(("prep_iac.contract", "prep_iac.onhost")), module
        elif not on_publisher:
            assert top in sys.stdlib_module_names, f"{path.name} imports {module}"


def test_the_difusor_copy_runs_alone(tmp_path):
    """Exactly the files the onhost component ships, imported by an isolated python3."""
    for rel in onhost.library_files():
        dest = tmp_path / "prep_iac" / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes((PACKAGE_DIR / rel).read_bytes())
    for name, module in onhost.PROGRAMS.items():
        script = onhost.launcher(module).replace(repr(contract.ONHOST_LIB), repr(str(tmp_path)))
        launcher = tmp_path / name
        launcher.write_text(script)
        proc = subprocess.run(["/usr/bin/python3", "-IB", str(launcher), "--help"],
                              capture_output=True, text=True, timeout=60, check=False)
        assert proc.returncode == 0, proc.stderr
        assert name in proc.stdout
    # Run for real, the watchdog reads its config first and says why it cannot go on.
    proc = subprocess.run(["/usr/bin/python3", "-IB", str(tmp_path / "prep-watchdog")],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "No such file" in proc.stderr and contract.WATCHDOG_CONFIG in proc.stderr


@pytest.mark.parametrize("text", ["20210606_2000_PREP_AYUN_COAH\n", "../x", "a/b", "", ".x",
                                  "x" * 101, "20210606_2000\x00"])
def test_cut_ids_are_matched_whole(text):
    assert not contract.is_cut_id(text)
    assert contract.parse_cut_id(text) is None


def test_parse_cut_id():
    assert contract.parse_cut_id("20210606_2000_PREP_AYUN_COAH") == datetime(2021, 6, 6, 20, 0)
    assert contract.parse_cut_id("20210606_2000") == datetime(2021, 6, 6, 20, 0)
    assert contract.parse_cut_id("20211306_2000_PREP") is None  # month 13
    assert contract.parse_cut_id("ENSAYO_1") is None


def test_manifest_reader_refuses_what_the_activator_refuses():
    good = json.dumps({"formato": contract.MANIFEST_FORMAT, "corte": "C1",
                       "fecha_hora": "2021-06-06T20:00:00-05:00", **stamp(secuencia=7),
                       "archivos": [{"ruta": "a/b.txt", "bytes": 1, "sha256": "0" * 64}]})
    assert contract.parse_manifest(good, cut_id="C1")["corte"] == "C1"
    for bad, why in [(good.replace("a/b.txt", "../b"), "leaves"),
                     (good.replace("C1", "C1\\n"), "cut id"),
                     (good.replace('20:00:00-05:00"', '20:00:00"'), "fecha_hora"),
                     (good.replace('"bytes": 1', '"bytes": true'), "size"),
                     (good.replace('"secuencia": 7', '"secuencia": "7"'), "secuencia"),
                     (good.replace('"secuencia": 7, ', ''), "secuencia"),
                     (good.replace('"produccion"', '"prueba"'), "modo"),
                     (good.replace('"prueba-2021"', '"Prueba 2021"'), "proceso"),
                     (good.replace('"final": false', '"final": 0'), "final"),
                     (good.replace(':30-05:00"', ':30"'), "emitido")]:
        with pytest.raises(contract.ManifestError, match=why):
            contract.parse_manifest(bad)
    with pytest.raises(contract.ManifestError, match="not 'C2'"):
        contract.parse_manifest(good, cut_id="C2")


def test_the_publisher_wheel_carries_onhost_and_the_contract_whole(tmp_path):
    import zipfile

    from prep_iac.publish import wheel

    (tmp_path / "a").mkdir()
    first = wheel.build(tmp_path / "a")
    names = set(zipfile.ZipFile(first).namelist())
    onhost_files = {f"prep_iac/{p.relative_to(PACKAGE_DIR).as_posix()}"
                    for p in python_files(PACKAGE_DIR / "onhost")}
    assert onhost_files <= names
    assert "prep_iac/contract.py" in names
    assert not [n for n in names if n.startswith(("prep_iac/components/", "prep_iac/lab/",
                                                  "prep_iac/inventory/"))]
    entry = zipfile.ZipFile(first).read(
        next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "prep-publisher = prep_iac.onhost.publisher.service:main" in entry
    (tmp_path / "b").mkdir()
    again = wheel.build(tmp_path / "b")
    assert again.read_bytes() == first.read_bytes()  # same sources, same bytes: no reinstall


def test_the_publisher_wheels_commands_import_from_the_wheel_alone(tmp_path):
    """What the publisher host runs (`prep-iac status`, `prep-publisher`) imports nothing the
    wheel leaves out: unpacked, with the repository's editable install switched off (its
    finder would supply any module by name), a module missing from wheel.RUNTIME fails here
    instead of on the host."""
    import subprocess
    import sys
    import zipfile

    from prep_iac.publish import wheel

    (tmp_path / "whl").mkdir()
    zipfile.ZipFile(wheel.build(tmp_path / "whl")).extractall(tmp_path / "site")
    code = ("import sys\n"
            "sys.meta_path[:] = [f for f in sys.meta_path\n"
            "                    if not getattr(f, '__module__', '').startswith('__editable__')]\n"
            "sys.path[:] = [p for p in sys.path if '__editable__' not in p]\n"
            "import prep_iac, prep_iac.cli, prep_iac.publish.cli, prep_iac.onhost.publisher.service\n"
            "print(prep_iac.__file__)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin"},
                          cwd=tmp_path, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().startswith(str(tmp_path / "site"))
