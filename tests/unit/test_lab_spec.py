"""Lab shape as pure logic: names, bridge names, subnets, addresses."""

import pytest

from prep_iac.errors import PrepError
from prep_iac.lab.spec import LabSpec, bridge_name, check_name, parse_subnet


def test_addresses_are_fixed_by_role_and_number():
    spec = LabSpec(name="labdev", subnet="10.81.0.0/24")
    assert spec.gateway == "10.81.0.1"
    assert spec.address("difusor-1") == "10.81.0.11"
    assert spec.address("difusor-3") == "10.81.0.13"
    assert spec.address("publisher-1") == "10.81.0.201"


def test_growing_a_lab_never_moves_a_host():
    spec = LabSpec(name="x", subnet="10.82.0.0/24")
    small = {h: spec.address(h) for h in spec.host_names(2, 1)}
    big = {h: spec.address(h) for h in spec.host_names(10, 3)}
    assert all(big[h] == a for h, a in small.items())
    assert len(set(big.values())) == len(big)


def test_host_names():
    assert LabSpec().host_names(2, 1) == ["difusor-1", "difusor-2", "publisher-1"]
    assert LabSpec().host_names(0, 2) == ["publisher-1", "publisher-2"]
    with pytest.raises(PrepError, match="at least one host"):
        LabSpec().host_names(0, 0)
    with pytest.raises(PrepError, match="at most"):
        LabSpec().host_names(190, 1)


def test_bridge_names_fit_an_interface_name_and_differ_per_lab():
    assert bridge_name("lab") == "prepbr-lab"
    assert bridge_name("labdev") == "prepbr-labdev"
    long_a, long_b = bridge_name("a-very-long-lab-name"), bridge_name("a-very-long-lab-namf")
    assert len(long_a) <= 15 and len(long_b) <= 15 and long_a != long_b
    assert bridge_name("a-very-long-lab-name") == long_a  # stable


def test_machine_names_are_unique_across_labs():
    assert LabSpec(name="a").machine_name("difusor-1") != LabSpec(name="b").machine_name(
        "difusor-1")


@pytest.mark.parametrize("name", ["", "Lab", "1lab", "lab_dev", "lab-", "x" * 21, "la b"])
def test_bad_lab_names(name):
    with pytest.raises(PrepError, match="bad lab name"):
        check_name(name)


@pytest.mark.parametrize("subnet, message", [
    ("10.81.0.0/28", "too small"),
    ("10.81.0.1/24", "bad lab subnet"),
    ("banana", "bad lab subnet"),
    ("8.8.8.0/24", "not a private range"),
    ("10.76.0.0/16", "apt proxy"),
])
def test_bad_subnets(subnet, message):
    with pytest.raises(PrepError, match=message):
        parse_subnet(subnet)


def test_env_gives_name_and_subnet(monkeypatch):
    monkeypatch.setenv("PREP_LAB_NAME", "labdev")
    monkeypatch.setenv("PREP_LAB_SUBNET", "10.81.0.0/24")
    spec = LabSpec.from_env()
    assert (spec.name, spec.subnet, spec.bridge) == ("labdev", "10.81.0.0/24", "prepbr-labdev")
    assert spec.inventory_file() == "lab-labdev.yml"
    monkeypatch.delenv("PREP_LAB_NAME")
    monkeypatch.delenv("PREP_LAB_SUBNET")
    assert LabSpec.from_env().inventory_file() == "lab.yml"
    assert LabSpec.from_env().subnet == "10.77.0.0/24"


def test_the_institutes_web_host_has_its_own_address():
    spec = LabSpec(name="labdev", subnet="10.81.0.0/24")
    assert spec.host_names(1, 1, websites=1) == ["difusor-1", "publisher-1", "website-1"]
    assert spec.address("website-1") == "10.81.0.251"
    all_hosts = spec.host_names(189, 50, websites=1)
    assert len({spec.address(h) for h in all_hosts}) == len(all_hosts) == 240
    with pytest.raises(PrepError, match="at most"):
        spec.host_names(1, 1, websites=2)
