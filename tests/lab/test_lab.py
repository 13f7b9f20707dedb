"""The lab itself: hosts boot, pyinfra deploys twice (the second changes nothing), testinfra
sees the result, and neither `down` nor a failed `up` leaves anything behind."""

from __future__ import annotations

import os

import pytest
from conftest import side_lab

from prep_iac.errors import PrepError
from prep_iac.lab import Lab, leftovers

pytestmark = pytest.mark.lab
HELLO = "tests/lab/deploys/hello.py"


def test_hosts_boot_and_answer_over_ssh(lab):
    assert set(lab.hosts) >= {"difusor-1", "difusor-2", "publisher-1"}
    for name, address in lab.hosts.items():
        proc = lab.run(name, "hostname; sudo -n id -u; systemctl is-system-running")
        assert proc.returncode in (0, 1), proc.stderr  # 1: "degraded" is still booted
        hostname, uid, state = proc.stdout.split()
        assert (hostname, uid) == (name, "0")
        assert state in ("running", "degraded")
        assert address in lab.run(name, "ip -4 -br addr show host0").stdout


def test_inventory_loads_with_the_project_schema(lab):
    from prep_iac.inventory import load_inventory

    inventory = load_inventory(lab.inventory_path)
    assert set(inventory.difusores) == {n for n in lab.hosts if n.startswith("difusor-")}
    assert set(inventory.publishers) == {n for n in lab.hosts if n.startswith("publisher-")}
    known = lab.known_hosts_path.read_text()
    for name, host in {**inventory.difusores, **inventory.publishers}.items():
        assert host.address == lab.hosts[name]
        assert f"{name},{host.address} {host.host_key}" in known  # the pin is the real key


def test_root_has_no_key_admin_has_sudo(lab):
    proc = lab.run("difusor-1", "sudo -n test ! -e /root/.ssh/authorized_keys && echo none")
    assert proc.stdout.strip() == "none"
    leader = lab.host_pid("difusor-1")
    assert leader and lab.nsenter("difusor-1", ["cat", "/etc/hostname"]).stdout == "difusor-1\n"


def test_deploy_twice_second_run_changes_nothing(lab, run_deploy):
    first = run_deploy(HELLO)
    assert first.ok, first.output[-3000:]
    assert first.changed > 0 or first.unchanged > 0, first.output[-3000:]
    second = run_deploy(HELLO)
    assert second.ok, second.output[-3000:]
    assert second.changed == 0, second.output[-3000:]
    assert second.unchanged == 5 * len(lab.hosts)


def test_testinfra_sees_the_deploy(lab, lab_host, run_deploy):
    import json

    assert run_deploy(HELLO).ok
    for name in lab.hosts:
        h = lab_host(name)
        greeting = h.file("/etc/prep-lab-test/greeting")
        assert greeting.is_file and greeting.content_string == f"hola desde {name}\n"
        assert h.file("/etc/prep-lab-test/lines").contains("^prep=1$")
        assert h.package("tree").is_installed
        fact = json.loads(h.file("/etc/prep-lab-test/container.json").content_string)
        assert fact["container"] == "systemd-nspawn"
        assert set(fact["forbids"]) == {"kernel_sysctl", "auditd", "timesync", "loop_filesystem"}


def test_stop_and_start_a_host(lab):
    name = max(lab.hosts)
    lab.stop_host(name)
    assert not lab.is_running(name) and lab.host_pid(name) is None
    assert lab.run(name, "true", timeout=20).returncode != 0
    lab.start_host(name)
    assert float(lab.run(name, "cat /proc/uptime").stdout.split()[0]) < 60  # a fresh boot
    assert lab.run(name, "true").returncode == 0  # same host keys: known_hosts still valid


def test_down_leaves_nothing_and_up_again_restores(lab, nothing_left):
    hosts = dict(lab.hosts)
    difusores = sum(n.startswith("difusor-") for n in hosts)
    lab.down()
    nothing_left(lab.name)
    lab.up(difusores=difusores, publishers=len(hosts) - difusores)
    assert lab.hosts == hosts
    assert lab.run("difusor-1", "cat /etc/prep-lab-test/greeting").stdout  # disks kept


def _spare_subnet() -> str:
    """A /24 for the throw-away lab: $PREP_LAB_FAIL_SUBNET, else its own beside the session's."""
    return os.environ.get("PREP_LAB_FAIL_SUBNET") or side_lab("roto")[1]


def test_failed_up_leaves_nothing(lab, nothing_left):
    name = f"{lab.name}x"
    broken = Lab.fresh(name, _spare_subnet(), lab.spec.release)
    try:
        with pytest.raises(PrepError, match="not ready"):
            broken.up(difusores=2, publishers=0, timeout=0.2)  # hosts booted, never ready
        nothing_left(name)
    finally:
        broken.destroy()
    nothing_left(name)
    assert not broken.dir.exists() and not broken.inventory_path.exists()


def test_impossible_subnet_is_refused_before_anything(lab):
    with pytest.raises(PrepError, match="too small"):
        Lab(name=f"{lab.name}y", subnet="10.79.200.0/28")
    assert not any(leftovers.report(f"{lab.name}y").values())
