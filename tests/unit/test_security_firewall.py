"""The nftables ruleset rendered from inventories, checked by nft itself when available."""

import shutil
import subprocess

import pytest

from prep_iac.components import firewall
from prep_iac.facts.nftables import parse_set_elements
from prep_iac.inventory import load_inventory
from prep_iac.inventory.hostconfig import HostConfig


def cfg(path, group):
    inventory = load_inventory(path)
    name = next(iter(getattr(inventory, group)))
    return HostConfig(inventory, path, name, "difusor" if group == "difusores" else "publisher")


@pytest.fixture
def difusor():
    return cfg("inventories/example-difusor.yml", "difusores")


@pytest.fixture
def publisher():
    return cfg("inventories/example-iec.yml", "publishers")


def nft_check(text, tmp_path):
    if not shutil.which("nft"):
        pytest.skip("nft is not installed here")
    path = tmp_path / "ruleset.nft"
    path.write_text(text.replace('include "/etc/nftables.d/*.nft"', ""))
    result = subprocess.run(["nft", "-c", "-f", str(path)], capture_output=True, text=True,
                            check=False)
    if result.returncode and "Operation not permitted" in result.stderr:
        pytest.skip("nft -c needs CAP_NET_ADMIN")
    assert result.returncode == 0, result.stderr


def test_difusor_ruleset(difusor, tmp_path):
    text = firewall.ruleset(difusor, [22])
    nft_check(text, tmp_path)
    assert "table inet prep" in text and "policy drop" in text
    assert "set banned4" in text and "set banned6" in text
    assert "198.51.100.0/28" in text and "203.0.113.0/24" in text  # IEC + admins
    assert "2001:db8:10::/48" in text
    assert "tcp dport { 80, 443 }" in text and "ct count over 100" in text
    assert "limit rate over 100/second" in text
    assert "chain output" not in text


def test_publisher_ruleset(publisher, tmp_path):
    text = firewall.ruleset(publisher, [22])
    nft_check(text, tmp_path)
    assert "80, 443" not in text
    assert "push to " in text  # outbound SSH to each difusor, counted


def test_networks_merged():
    v4, v6 = firewall.split_networks(["10.84.0.0/24", "10.84.0.0/25", "10.0.0.1/32",
                                      "2001:db8::/48"])
    assert v4 == ["10.0.0.1/32", "10.84.0.0/24"] and v6 == ["2001:db8::/48"]


def test_set_elements_parse():
    text = ('{"nftables": [{"metainfo": {}}, {"set": {"name": "banned4", "elem": '
            '[{"elem": {"val": "192.0.2.7", "timeout": 30, "expires": 29}}, "192.0.2.8"]}}]}')
    assert parse_set_elements(text) == ["192.0.2.7", "192.0.2.8"]
