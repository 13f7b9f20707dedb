"""The parsing behind the hardware, redundancy and OS suites, on real outputs."""

import pytest

from prep_iac.conformance.suites.test_os import supported
from prep_iac.conformance.suites.test_redundancy import bond_links, md_arrays

MDSTAT = """Personalities : [raid1] [raid6] [raid5] [raid4]
md0 : active raid1 sdb1[1] sda1[0]
      1046528 blocks super 1.2 [2/2] [UU]

md1 : active raid1 sdb2[1] sda2[0](F)
      975585280 blocks super 1.2 [2/1] [_U]
      bitmap: 3/8 pages [12KB], 65536KB chunk

md2 : active (auto-read-only) raid5 sdc1[0] sdd1[1] sde1[3]
      20953088 blocks super 1.2 level 5, 512k chunk, algorithm 2 [3/3] [UUU]

unused devices: <none>
"""

BOND = """Ethernet Channel Bonding Driver: v5.10.0

Bonding Mode: fault-tolerance (active-backup)
Primary Slave: None
Currently Active Slave: eno1
MII Status: up

Slave Interface: eno1
MII Status: up
Speed: 1000 Mbps

Slave Interface: eno2
MII Status: down
Speed: Unknown
"""


def test_md_arrays():
    assert md_arrays(MDSTAT) == [("md0", "raid1", "UU"), ("md1", "raid1", "_U"),
                                 ("md2", "raid5", "UUU")]
    assert md_arrays("Personalities :\nunused devices: <none>\n") == []


def test_bond_links():
    assert bond_links(BOND) == (2, 1)
    assert bond_links(BOND.replace("MII Status: down", "MII Status: up")) == (2, 2)


@pytest.mark.parametrize("system, version, ok", [
    ("debian", "12", True), ("debian", "13", True), ("debian", "11", False),
    ("ubuntu", "22.04", True), ("ubuntu", "24.04", True), ("ubuntu", "23.10", False),
    ("ubuntu", "25.04", False), ("ubuntu", "20.04", False), ("centos", "7", False),
])
def test_supported(system, version, ok):
    assert supported({"ID": system, "VERSION_ID": version}) is ok
