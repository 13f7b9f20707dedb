"""The night's CPU split (prep_iac/lab/cpu.py): difusores, publisher, the rest."""

import pytest

from prep_iac.lab import cpu


def test_split_in_cores():
    before = cpu.Snapshot(100.0, 1000.0, {"difusor-1": 10.0, "difusor-2": 20.0,
                                          "publisher-1": 5.0})
    after = cpu.Snapshot(110.0, 1016.0, {"difusor-1": 13.0, "difusor-2": 22.0,
                                         "publisher-1": 9.0})
    got = cpu.split(before, after)
    assert got == {"seconds": 10.0, "machine_cores": 1.6, "difusores_cores": 0.5,
                   "publisher_cores": 0.4, "rest_cores": 0.7, "per_difusor_cores": 0.25,
                   "difusores_units_cores": {}, "publisher_units_cores": {}}


@pytest.mark.parametrize("later", [None, 1.0])  # unreadable, or restarted (its count began anew)
def test_a_host_that_lost_its_count_leaves_its_part_unknown(later):
    before = cpu.Snapshot(0.0, 0.0, {"difusor-1": 10.0, "publisher-1": 5.0})
    after = cpu.Snapshot(10.0, 10.0, {"difusor-1": later, "publisher-1": 6.0})
    got = cpu.split(before, after)
    assert got["difusores_cores"] is None and got["rest_cores"] is None
    assert got["publisher_cores"] == 0.1 and got["machine_cores"] == 1.0


def test_host_cpu_from_its_cgroup(tmp_path, monkeypatch):
    monkeypatch.setattr(cpu, "UNIFIED", tmp_path)
    group = tmp_path / "prep-iac" / "drill" / "difusor-1"
    group.mkdir(parents=True)
    (group / "cpu.stat").write_text("usage_usec 2500000\nuser_usec 2000000\n"
                                    "system_usec 500000\n")
    assert cpu.host_cpu_s("drill", "difusor-1") == 2.5
    assert cpu.host_cpu_s("drill", "difusor-9") is None


def test_the_machine_busy_time_only_grows():
    first = cpu.machine_busy_s()
    sum(range(2_000_000))  # a little work of our own
    assert 0 < first <= cpu.machine_busy_s()


def _stat(group, seconds):
    group.mkdir(parents=True, exist_ok=True)
    (group / "cpu.stat").write_text(f"usage_usec {int(seconds * 1e6)}\nuser_usec 1\n")


def test_a_host_s_units_from_its_cgroups(tmp_path, monkeypatch):
    monkeypatch.setattr(cpu, "UNIFIED", tmp_path)
    payload = tmp_path / "prep-iac" / "drill" / "difusor-1" / "payload"
    _stat(payload / "init.scope", 1.5)
    _stat(payload / "system.slice", 9.0)
    _stat(payload / "system.slice" / "ssh.service", 4.0)
    _stat(payload / "system.slice" / "system-getty.slice", 0.2)  # a slice, not a service
    _stat(payload / "system.slice" / "system-getty.slice" / "getty@tty1.service", 0.1)
    assert cpu.host_units_s("drill", "difusor-1") == {
        "init.scope": 1.5, "system.slice": 9.0, "ssh.service": 4.0, "getty@tty1.service": 0.1}
    assert cpu.host_units_s("drill", "difusor-9") == {}


def test_units_split_sums_the_hosts_and_names_the_ended_units():
    """The activator's runs end between snapshots: system.slice's growth beyond the services
    seen at both ends is theirs. A service that appeared meanwhile counts with them."""
    before = cpu.Snapshot(0.0, 0.0, {}, {
        "difusor-1": {"init.scope": 1.0, "system.slice": 10.0, "ssh.service": 4.0,
                      "nginx.service": 1.0},
        "difusor-2": {"init.scope": 2.0, "system.slice": 20.0, "ssh.service": 8.0},
        "publisher-1": {"system.slice": 5.0, "prep-publisher.service": 1.0}})
    after = cpu.Snapshot(10.0, 0.0, {}, {
        "difusor-1": {"init.scope": 1.5, "system.slice": 16.0, "ssh.service": 6.0,
                      "nginx.service": 1.5},
        "difusor-2": {"init.scope": 2.5, "system.slice": 25.0, "ssh.service": 9.0,
                      "late.service": 0.5},
        "publisher-1": {"system.slice": 8.0, "prep-publisher.service": 3.0}})
    got = cpu.units_split(before, after, "difusor-")
    assert got == {"ended units": 7.5, "ssh.service": 3.0, "init.scope": 1.0,
                   "nginx.service": 0.5}  # d1: 6 - 2 - 0.5 = 3.5; d2: 5 - 1 = 4 (with late)
    assert list(got) == sorted(got, key=lambda u: -got[u])
    assert cpu.units_split(before, after, "publisher-") == {
        "prep-publisher.service": 2.0, "ended units": 1.0}
    split = cpu.split(cpu.Snapshot(0.0, 0.0, {"difusor-1": 0.0, "publisher-1": 0.0},
                                   before.units),
                      cpu.Snapshot(10.0, 20.0, {"difusor-1": 11.0, "publisher-1": 3.0},
                                   after.units))
    assert split["difusores_units_cores"]["ssh.service"] == 0.3
    assert split["publisher_units_cores"] == {"prep-publisher.service": 0.2,
                                              "ended units": 0.1}
