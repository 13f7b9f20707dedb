"""Shared fixtures of the conformance suites.

Run them with pytest-testinfra against any host of a prep-iac inventory:

    PREP_INVENTORY=inventories/lab.yml pytest prep_iac/conformance/suites \
        --hosts=ssh://prepadmin@10.77.0.11 --ssh-config=… --sudo

Every check carries ``@pytest.mark.conv("CONV-…", devsec="…", cis="…")``. A check that does
not apply to this host calls ``not_applicable(reason)``: it is reported "no aplica" with its
reason, never passed in silence.
"""

import functools
import os

import pytest

from prep_iac.conformance.suites.checks import ROLE_MISMATCH, CommandRecorder
from prep_iac.inventory import load_inventory
from prep_iac.inventory.hostconfig import HostConfig
from prep_iac.inventory.roles import GROUP_ROLES as GROUPS


def pytest_addoption(parser):
    parser.addoption("--prep-inventory", default=os.environ.get("PREP_INVENTORY"),
                     help="the prep-iac inventory the hosts come from (or $PREP_INVENTORY)")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "conv(*ids, devsec=None, cis=None): the requirement(s) a check proves")


@functools.lru_cache(maxsize=4)
def _inventory(path: str):
    # Loaded once per run, not once per suite module: validation costs ~0.1 s each time.
    return load_inventory(path)


@pytest.fixture(scope="module")
def prep(host, request) -> HostConfig:
    """The inventory's view of the host under test, found by its address."""
    path = request.config.getoption("--prep-inventory")
    if not path:
        pytest.fail("no inventory: pass --prep-inventory FILE or set PREP_INVENTORY")
    inventory = _inventory(path)
    address = host.backend.get_hostname()
    for group, role in GROUPS.items():
        for name, entry in getattr(inventory, group).items():
            if entry.address == address:
                return HostConfig(inventory, path, name, role)
    pytest.fail(f"{address} is not a host of {path}")


@pytest.fixture(autouse=True)
def _record_commands(request):
    """Keep every command a check runs on its host, and what it returned: the report's
    evidence. Wraps ``host.run``, through which every testinfra module runs its commands."""
    log: list[dict] = []
    request.node.prep_evidence = log
    if "host" not in request.fixturenames:
        yield
        return
    recorder = CommandRecorder.attach(request.getfixturevalue("host"))
    recorder.log = log
    yield
    recorder.log = None


@pytest.fixture
def evidencia(request):
    """``evidencia(what, value)``: evidence that is not a command (a value of the inventory)."""
    def record(what: str, value) -> None:
        request.node.prep_evidence.append({"command": what, "rc": None, "output": str(value)})
    return record


def _only(prep, role: str, is_instead: str, meant_for: str):
    """The host's data when it has `role`; otherwise the check is "no aplica", with why."""
    if prep.role != role:
        pytest.skip(f"no aplica: {prep.name} es {is_instead}; {ROLE_MISMATCH}{meant_for}")
    return prep


@pytest.fixture(scope="module")
def difusor(prep):
    return _only(prep, "difusor", "un publicador del IEC", "difusores")


@pytest.fixture(scope="module")
def publisher(prep):
    return _only(prep, "publisher", "un difusor", "publicadores del IEC")
