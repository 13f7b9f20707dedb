"""`prep-iac deploy ROLE -i INV` runs the same pyinfra deploy file plain pyinfra would."""

from pathlib import Path

import pytest

from prep_iac.deploy_cli import deploy_command
from prep_iac.errors import PrepError
from prep_iac.pyinfra_run import parse_results

REPO = Path(__file__).resolve().parents[2]


def test_command_is_plain_pyinfra_on_the_env_shim():
    cmd = deploy_command("difusor", str(REPO / "inventories/example-difusor.yml"), dry=True)
    assert cmd[1:3] == [str(REPO / "inventories/env.py"), str(REPO / "deploys/difusor.py")]
    assert cmd[3:] == ["--limit", "difusores", "--dry", "-y"]


def test_limit_names_one_host():
    cmd = deploy_command("publisher", str(REPO / "inventories/example-iec.yml"),
                         limit="publisher-1", yes=False)
    assert cmd[3:] == ["--limit", "publisher-1"]


@pytest.mark.parametrize("inventory", ["example-difusor.yml", "example-iec.yml"])
def test_the_calendar_deploy_runs_on_every_host_of_either_inventory(inventory):
    """A date the Institute moved: deploys/calendar.py, no group limit (it has both roles')."""
    cmd = deploy_command("calendar", str(REPO / "inventories" / inventory))
    assert cmd[1:3] == [str(REPO / "inventories/env.py"), str(REPO / "deploys/calendar.py")]
    assert cmd[3:] == ["-y"]


def test_unknown_role_lists_the_deploys():
    with pytest.raises(PrepError, match="no deploy named 'nope'") as info:
        deploy_command("nope", str(REPO / "inventories/example-difusor.yml"))
    assert "difusor" in info.value.fix and "publisher" in info.value.fix


def test_inventory_without_that_group_is_refused():
    with pytest.raises(PrepError, match="has no publishers"):
        deploy_command("publisher", str(REPO / "inventories/example-difusor.yml"))


def test_a_broken_inventory_fails_before_pyinfra(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("iec: {}\n")
    with pytest.raises(PrepError, match="not valid"):
        deploy_command("difusor", str(bad))


def test_results_table_is_read():
    table = "    Grand total     260     202       29      29          \n"
    assert parse_results(table) == (202, 29, 29)
    assert parse_results("    Grand total   10   -   -   10\n") == (0, 0, 10)
