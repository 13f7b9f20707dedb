"""The lab's capacity check: a lab the machine's memory cannot hold is refused before boot."""

import pytest

from prep_iac.errors import PrepError
from prep_iac.lab import capacity

MEMINFO = "MemTotal:       25000000 kB\nMemFree:  1000 kB\nMemAvailable:   8388608 kB\n"


def test_available_memory_is_memavailable_or_the_cgroups_room_when_lower():
    assert capacity.available_mib(MEMINFO, cgroup_left=None) == 8192
    assert capacity.available_mib(MEMINFO, cgroup_left=2048 * capacity.MIB) == 2048


def test_fifty_difusores_fit_in_24_gib_and_the_need_grows_with_each_host():
    assert capacity.needed_mib(50, 1) <= 23_000
    assert capacity.needed_mib(51, 1) - capacity.needed_mib(50, 1) == capacity.DIFUSOR_MIB
    capacity.check(50, 1, available=23_000)


def test_too_many_difusores_are_refused_with_the_number_that_fits():
    with pytest.raises(PrepError) as info:
        capacity.check(80, 1, available=8192)
    most = capacity.most_difusores(8192, 1)
    assert "80 difusores" in info.value.cause and "8192 MiB available" in info.value.cause
    assert f"at most {most} difusores" in info.value.fix
    capacity.check(most, 1, available=8192)  # the number it names does fit


def test_no_room_at_all_says_to_free_memory():
    with pytest.raises(PrepError) as info:
        capacity.check(1, 1, available=512)
    assert "free memory" in info.value.fix and "at most" not in info.value.fix


def test_the_machine_read_gives_a_positive_number():
    assert capacity.available_mib() > 0
