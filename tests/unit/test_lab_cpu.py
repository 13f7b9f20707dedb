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
                   "publisher_cores": 0.4, "rest_cores": 0.7, "per_difusor_cores": 0.25}


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
