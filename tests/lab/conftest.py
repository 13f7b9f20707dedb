"""Fixtures for tests on real lab hosts (systemd-nspawn). Use them from any tests/lab test:

    pytestmark = pytest.mark.lab

    def test_x(lab, run_deploy, lab_host):
        result = run_deploy("deploys/difusor.py")          # pyinfra on the lab inventory
        assert result.ok and run_deploy("deploys/difusor.py").changed == 0
        assert lab_host("difusor-1").service("nginx").is_running   # testinfra, via sudo

The session's lab is named by $PREP_LAB_NAME (default "ci") on $PREP_LAB_SUBNET (default
10.79.0.0/24), with $PREP_LAB_DIFUSORES / $PREP_LAB_PUBLISHERS / $PREP_LAB_WEBSITES hosts
(default 3, 1 and 0) of $PREP_LAB_RELEASE (default bookworm). It is destroyed at the end of the session, also when
tests fail; $PREP_LAB_KEEP=1 keeps it for a look afterwards.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import pytest

from prep_iac import pyinfra_run
from prep_iac.lab import Lab, leftovers
from prep_iac.pyinfra_run import DeployResult, parse_results  # noqa: F401  (tests import them here)

REPO = Path(__file__).resolve().parents[2]


def require_root() -> None:
    """Lab tests need root: fail loudly rather than skip (a skipped lab test is no test)."""
    if os.geteuid() != 0:
        pytest.fail("lab tests need root (systemd-nspawn, mounts, bridges): run them as root, "
                    "e.g. sudo ./dev test", pytrace=False)


def lab_settings() -> dict:
    return {
        "name": os.environ.get("PREP_LAB_NAME", "ci"),
        "subnet": os.environ.get("PREP_LAB_SUBNET", "10.79.0.0/24"),
        "release": os.environ.get("PREP_LAB_RELEASE", "bookworm"),
        "difusores": int(os.environ.get("PREP_LAB_DIFUSORES", "3")),
        "publishers": int(os.environ.get("PREP_LAB_PUBLISHERS", "1")),
        # The Institute's web host that serves the public list (tests/lab/test_lista_web.py).
        "websites": int(os.environ.get("PREP_LAB_WEBSITES", "0")),
    }


# The labs some tests boot beside the session's, each on its own /24 after the session's
# subnet (ci on 10.79.0.0/24: the drill's on 10.79.1.0/24, and so on): they may run at once.
SIDE_LABS = {"sim": 1, "fs": 2, "guia": 3, "roto": 4, "stop": 5}


def side_lab(kind: str) -> tuple[str, str]:
    """(name, subnet) of the lab of this kind beside the session's (see SIDE_LABS)."""
    session = lab_settings()
    net = ipaddress.ip_network(session["subnet"])
    step = SIDE_LABS[kind] * max(net.num_addresses, 256)
    subnet = ipaddress.ip_network((int(net.network_address) + step, max(net.prefixlen, 24)))
    return f"{session['name'][:19 - len(kind)]}-{kind}", str(subnet)


def assert_nothing_left(name: str) -> None:
    left = leftovers.remaining(name)
    assert not left, f"lab {name!r} left things behind: {left}"


@pytest.fixture
def nothing_left():
    """nothing_left(lab_name): assert the lab left no mount, link, cgroup, process, netns."""
    return assert_nothing_left


@pytest.fixture(scope="session")
def lab():
    """The session's running lab (see module doc); destroyed at the end, checked clean."""
    require_root()
    s = lab_settings()
    the_lab = Lab.fresh(s["name"], s["subnet"], s["release"])
    try:
        the_lab.up(difusores=s["difusores"], publishers=s["publishers"],
                   websites=s["websites"])
        yield the_lab
    finally:
        if os.environ.get("PREP_LAB_KEEP") != "1":
            the_lab.destroy()
            assert_nothing_left(the_lab.name)


@pytest.fixture(scope="session", autouse=True)
def drill_beside(request, tmp_path_factory):
    """test_simulacro's drill, started first thing when that module is among the tests: it
    runs on a lab of its own while the other lab tests go on (their session's lab boots
    beside it). None when it is not, or without root (its tests then fail on that)."""
    drills = {item.module for item in request.session.items
              if item.module.__name__ == "test_simulacro"}
    if not drills or os.geteuid() != 0:
        yield None
        return
    running = drills.pop().Drill(tmp_path_factory.mktemp("simulacro"))
    try:
        yield running
    finally:
        running.stop()


def deploy(lab: Lab, deploy_file: str | Path, limit: str | None = None,
           extra_env: dict | None = None, timeout: float = 900) -> DeployResult:
    """Run a pyinfra deploy file on the lab's inventory, as `pyinfra` itself would."""
    return pyinfra_run.run_deploy(lab.inventory_path, deploy_file, limit=limit, extra_env=extra_env,
                      timeout=timeout)


@pytest.fixture
def run_deploy(lab):
    """run_deploy(file, limit=None, extra_env=None) -> DeployResult (pyinfra on the lab)."""
    def _run(deploy_file, limit=None, extra_env=None, timeout=900):
        return deploy(lab, deploy_file, limit=limit, extra_env=extra_env, timeout=timeout)
    return _run


def testinfra_host(lab: Lab, name: str, sudo: bool = True):
    """A testinfra host for a lab host: ssh as prepadmin through the lab's ssh_config
    (multiplexed, pinned host keys), commands run with sudo."""
    import testinfra

    address = lab.hosts[name]
    return testinfra.get_host(f"ssh://prepadmin@{address}", ssh_config=str(lab.ssh_config_path),
                              sudo=sudo)


@pytest.fixture
def lab_host(lab):
    """lab_host(name) -> testinfra host (sudo)."""
    cache: dict = {}

    def _get(name: str, sudo: bool = True):
        if (name, sudo) not in cache:
            cache[name, sudo] = testinfra_host(lab, name, sudo)
        return cache[name, sudo]
    return _get
