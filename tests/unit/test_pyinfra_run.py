"""One pyinfra runner: `prep-iac deploy`, the drill and the lab tests build the pyinfra
command in pyinfra_run.pyinfra_command and run it through pyinfra_run.run_deploy."""

import subprocess
from pathlib import Path

import pytest

from prep_iac import deploy_cli, pyinfra_run

REPO = Path(__file__).resolve().parents[2]
DIFUSOR_INV = str(REPO / "inventories/example-difusor.yml")


@pytest.fixture
def checked(monkeypatch):
    """The checks before connecting, recorded instead of run (the example's hosts do not
    exist; tests/unit/test_preflight.py checks them)."""
    from prep_iac import preflight

    calls = []
    monkeypatch.setattr(preflight, "check", lambda inv, hosts, **kw: calls.append(list(hosts)))
    return calls


@pytest.fixture
def ran(monkeypatch, checked):
    """The runner's child process (children.run), recorded instead of run."""
    calls = []

    def fake_run(cmd, **kw):
        calls.append((cmd, kw))
        out = "    Grand total     12     3       0      9          \n"
        return subprocess.CompletedProcess(cmd, 0, out if kw.get("capture_output") else None, "")

    monkeypatch.setattr(pyinfra_run.children, "run", fake_run)
    return calls


def test_relative_deploy_files_are_the_repositorys():
    cmd = pyinfra_run.pyinfra_command("deploys/difusor.py", "difusores", extra_args=["-v"])
    assert cmd[1:] == [str(pyinfra_run.ENV_SHIM), str(REPO / "deploys/difusor.py"),
                       "--limit", "difusores", "-y", "-v"]


def test_the_drill_and_the_tests_capture_and_read_the_results(ran, tmp_path):
    result = pyinfra_run.run_deploy(tmp_path / "inv.yml", "deploys/difusor.py", limit="difusores",
                                    extra_env={"X": "1"})
    (cmd, kw), = ran
    assert cmd == pyinfra_run.pyinfra_command("deploys/difusor.py", "difusores")
    assert kw["env"]["PREP_INVENTORY"] == str((tmp_path / "inv.yml").resolve())
    assert kw["env"]["X"] == "1" and kw["cwd"] == pyinfra_run.REPO_DIR and kw["timeout"] == 900
    assert (result.ok, result.changed, result.errors, result.unchanged) == (True, 3, 0, 9)


def test_the_cli_runs_the_same_command_on_the_terminal(ran):
    rc = deploy_cli.deploy_role("difusor", DIFUSOR_INV, dry=True, extra=("-v",))
    (cmd, kw), = ran
    assert rc == 0
    assert cmd == deploy_cli.deploy_command("difusor", DIFUSOR_INV, dry=True, extra=("-v",))
    assert "capture_output" not in kw and kw["cwd"] is None and kw["timeout"] is None
    assert kw["env"]["PREP_INVENTORY"] == DIFUSOR_INV


def test_the_cli_checks_the_hosts_it_deploys_before_pyinfra(ran, checked):
    deploy_cli.deploy_role("difusor", DIFUSOR_INV, dry=True)
    deploy_cli.deploy_role("difusor", DIFUSOR_INV, limit="difusor-*")
    assert checked == [["difusor-1"], ["difusor-1"]]


def test_the_cli_exits_with_pyinfras_code(monkeypatch, checked):
    monkeypatch.setattr(pyinfra_run.children, "run",
                        lambda cmd, **kw: subprocess.CompletedProcess(cmd, 3))
    from click.testing import CliRunner

    result = CliRunner().invoke(deploy_cli.deploy, ["difusor", "-i", DIFUSOR_INV, "--dry"])
    assert result.exit_code == 3


def test_deploy_timeout_grows_with_hosts_past_the_fixed_floor():
    from prep_iac.pyinfra_run import DEPLOY_TIMEOUT_PER_HOST_S, DEPLOY_TIMEOUT_S, deploy_timeout

    assert deploy_timeout(1) == deploy_timeout(10) == DEPLOY_TIMEOUT_S
    assert deploy_timeout(51) == 51 * DEPLOY_TIMEOUT_PER_HOST_S > DEPLOY_TIMEOUT_S
    # 30 lab hosts took 470 s on a quiet machine: the limit leaves room for a loaded one
    assert deploy_timeout(30) >= 3 * 470
