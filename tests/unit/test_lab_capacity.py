"""The lab's capacity checks, before boot: a lab the machine's memory cannot hold, and a drill
whose night its cores cannot keep up with."""

from itertools import pairwise

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


def test_a_night_faster_than_the_machine_is_refused_with_the_period_that_fits():
    """25 lab difusores at 10 s periods fell behind on 2 cores (2026-12-05); at 30 s they
    kept up, and so did 10 at 10 s."""
    with pytest.raises(PrepError) as info:
        capacity.check_night(25, 10, cores=2)
    fits = capacity.shortest_period_s(25, 2)
    assert "25 lab difusores at 10 s periods" in info.value.cause
    assert "2 cores" in info.value.cause and "their cuts and their own units" in info.value.cause
    assert f"--periodo {fits}s or longer" in info.value.fix and 10 < fits <= 30
    assert f"at most {capacity.most_night_difusores(10, 2)} --difusores" in info.value.fix
    capacity.check_night(25, fits, cores=2)  # the period it names does fit
    capacity.check_night(25, 30, cores=2)
    capacity.check_night(10, 10, cores=2)
    capacity.check_night(2, 6, cores=2)  # the default drill
    capacity.check_night(25, 10, cores=8)  # more cores, more room


def test_a_longer_period_always_costs_less():
    costs = [capacity.night_cores(50, p) for p in range(2, 601)]
    assert all(a >= b for a, b in pairwise(costs))


def test_when_no_period_fits_it_names_the_difusores_that_do():
    with pytest.raises(PrepError) as info:
        capacity.check_night(2000, 60, cores=2)
    assert capacity.shortest_period_s(2000, 2) is None
    most = capacity.most_night_difusores(capacity.DEFAULT_PERIOD_S, 2)
    assert f"ask for at most {most} difusores" in info.value.fix
    capacity.check_night(most, capacity.DEFAULT_PERIOD_S, cores=2)
