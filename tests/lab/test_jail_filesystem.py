"""Issue 17 on a lab host that sees loop devices, as a VM would: the IEC jail's incoming/ on
a filesystem of its own, so an uploader can never fill the host's disk.

The session's lab hosts (containers without loop devices) keep the activator's byte budget
alone, and verify reports the filesystem row "no aplica" with the reason; this module boots a
one-host lab of its own whose difusor is given the controller's loop devices.

    PREP_LAB_NAME=jfs PREP_LAB_SUBNET=10.87.0.0/24 .venv/bin/pytest -m lab \\
        tests/lab/test_jail_filesystem.py
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "pipeline"))
from conftest import assert_nothing_left, lab_settings, require_root, side_lab
from conftest import testinfra_host as ssh_host  # not test_*: pytest would collect it
from helpers import Jail

from prep_iac.components.sftp_jail import FS_IMAGE, filesystem_bytes, mount_unit_name
from prep_iac.contract import INCOMING, JAIL_ROOT
from prep_iac.inventory import load_inventory
from prep_iac.lab import Lab
from prep_iac.lab import ca as lab_ca
from prep_iac.publish.registry import from_inventory
from prep_iac.pyinfra_run import run_deploy
from prep_iac.simulacro.setup import write_inventory

pytestmark = pytest.mark.lab
HOST = "difusor-1"
INCOMING_DIR = f"{JAIL_ROOT}/{INCOMING}"
UNIT = mount_unit_name(INCOMING_DIR)
JAIL_ONLY = Path(__file__).parent / "deploys" / "jail_only.py"
ROW = "pipeline::incoming_en_disco_propio"
MAX_CUT_MB = 16  # a 96 MiB filesystem: quick to fill over SFTP


def loops_in_use() -> set[str]:
    out = subprocess.run(["losetup", "-n", "-O", "NAME,BACK-FILE"], capture_output=True,
                         text=True, check=False).stdout
    return {line.strip() for line in out.splitlines() if line.strip()}


@pytest.fixture(scope="module")
def fs_lab():
    """A lab beside the session's (a difusor, and a publisher for the registry the IEC's SFTP
    session is built from): its name with -fs, two /24s further on."""
    require_root()
    name, subnet = side_lab("fs")
    before = loops_in_use()
    the_lab = Lab.fresh(name, subnet, lab_settings()["release"])
    try:
        the_lab.up(difusores=1, publishers=1, loop_devices=(HOST,))
        yield the_lab
    finally:
        the_lab.destroy()
        assert_nothing_left(the_lab.name)
        assert loops_in_use() <= before, "the lab left a loop device attached"


@pytest.fixture(scope="module")
def inventory(fs_lab, tmp_path_factory) -> Path:
    """The lab's inventory with cuts of at most MAX_CUT_MB (so a small filesystem)."""
    inv = load_inventory(fs_lab.inventory_path)
    path = tmp_path_factory.mktemp("jfs") / "inventario.yml"
    write_inventory(path, inv.with_changes(iec=inv.iec.with_changes(max_cut_mb=MAX_CUT_MB)),
                    "# tests/lab/test_jail_filesystem.py")
    lab_ca.ensure_ca(lab_ca.ca_dir(fs_lab.inventory_path))
    lab_ca.ca_dir(path).symlink_to(lab_ca.ca_dir(fs_lab.inventory_path))
    return path


def jail_only(inventory: Path):
    return run_deploy(inventory, JAIL_ONLY)


@pytest.fixture(scope="module")
def deployed(fs_lab, inventory):
    first = jail_only(inventory)
    assert first.ok, first.output[-4000:]
    again = jail_only(inventory)
    assert again.ok and again.changed == 0, again.output[-4000:]
    return fs_lab


def size_wanted() -> int:
    return filesystem_bytes(MAX_CUT_MB)


def test_incoming_is_its_own_filesystem_nodev_nosuid_noexec(deployed):
    host = ssh_host(deployed, HOST)
    mount = host.run(f"findmnt -n -J -o SOURCE,FSTYPE,OPTIONS --mountpoint {INCOMING_DIR}")
    assert mount.rc == 0, f"{INCOMING_DIR} is not a mount point: {mount.stderr}"
    fs = json.loads(mount.stdout)["filesystems"][0]
    assert fs["fstype"] == "ext4" and fs["source"].startswith("/dev/loop")
    assert {"nodev", "nosuid", "noexec"} <= set(fs["options"].split(","))
    assert host.file(FS_IMAGE).size == size_wanted()
    jail_user = load_inventory(deployed.inventory_path).iec.jail_user
    top = host.file(INCOMING_DIR)
    assert (top.user, top.mode) == (jail_user, 0o700)
    assert host.run(f"ls -A {INCOMING_DIR}").stdout.strip() == ""  # no lost+found
    assert host.service(UNIT).is_enabled


def test_an_upload_stops_at_the_filesystems_size_with_no_space(deployed):
    """The image is the most the uploader can take of the host's disk (which the lab's hosts
    share with the controller, so its free space is no measure here)."""
    host = ssh_host(deployed, HOST)
    jail = Jail(from_inventory(load_inventory(deployed.inventory_path)), HOST)
    chunk = b"\0" * (1024 * 1024)
    try:
        with pytest.raises(OSError), jail.sftp.open(f"/{INCOMING}/relleno", "wb") as f:
            for _ in range(size_wanted() // len(chunk) + 8):
                f.write(chunk)
        left = int(host.check_output(f"df -B1 --output=avail {INCOMING_DIR} | tail -n 1"))
        assert left < 4 * 1024 * 1024, f"{left} bytes still free in incoming/ after the failure"
        blocks, block_size = map(int, host.check_output(f"stat -c '%b %B' {FS_IMAGE}").split())
        assert blocks * block_size <= size_wanted()
        jail.sftp.remove(f"/{INCOMING}/relleno")
        jail.put(f"/{INCOMING}/pequeno", b"x" * 1024)  # room again once removed
        jail.sftp.remove(f"/{INCOMING}/pequeno")
    finally:
        jail.close()


def test_the_mount_comes_back_after_a_reboot_and_verify_reports_it(deployed, inventory,
                                                                     tmp_path):
    deployed.stop_host(HOST)
    deployed.start_host(HOST)
    host = ssh_host(deployed, HOST)
    assert host.run(f"findmnt --mountpoint {INCOMING_DIR}").rc == 0
    prep = Path(sys.executable).with_name("prep-iac")
    out = subprocess.run([str(prep), "verify", "-i", str(inventory), "--limit", HOST, "--json",
                          "--out", str(tmp_path / "verificacion")],
                         capture_output=True, text=True, timeout=600, check=False)
    report = json.loads(out.stdout)
    rows = [c for c in report["comprobaciones"] if c["check"] == ROW and c["host"] == HOST]
    assert [c["status"] for c in rows] == ["cumple"], rows or out.stderr[-2000:]


def test_larger_cuts_grow_the_filesystem_and_the_activator_watches_it_again(deployed,
                                                                           inventory):
    inv = load_inventory(inventory)
    bigger = inventory.with_name("mayor.yml")
    write_inventory(bigger, inv.with_changes(iec=inv.iec.with_changes(max_cut_mb=2 * MAX_CUT_MB)),
                    "# tests/lab/test_jail_filesystem.py: larger cuts")
    lab_ca.ca_dir(bigger).symlink_to(lab_ca.ca_dir(deployed.inventory_path))
    grown = jail_only(bigger)
    assert grown.ok, grown.output[-4000:]
    assert "grow incoming/'s filesystem" in grown.output
    host = ssh_host(deployed, HOST)
    assert host.file(FS_IMAGE).size == filesystem_bytes(2 * MAX_CUT_MB)
    size = int(host.check_output(f"df -B1 --output=size {INCOMING_DIR} | tail -n 1"))
    assert size > size_wanted(), "the mounted filesystem did not grow"
    assert jail_only(bigger).changed == 0


def test_a_host_that_loses_its_loop_devices_is_put_back_on_the_budget_alone(deployed,
                                                                             inventory):
    deployed.stop_host(HOST)
    deployed.start_host(HOST, loop_devices=False)
    first = jail_only(inventory)
    assert first.ok, first.output[-4000:]
    host = ssh_host(deployed, HOST)
    assert not host.file(f"/etc/systemd/system/{UNIT}").exists
    assert not host.file(FS_IMAGE).exists
    assert UNIT not in host.check_output("systemctl --failed --plain --no-legend")
    again = jail_only(inventory)
    assert again.ok and again.changed == 0, again.output[-4000:]
