"""How many lab hosts this machine can hold, checked before anything boots.

Memory is what runs out: a lab host is a whole booted Debian with its services, all of them
on this one machine. Measured on lab hosts (`prep-iac lab status`, the host's memory
cgroup): a difusor after the full deploy holds about 140 MiB (nginx, fail2ban, NUT, sshd,
systemd, journald), a publisher less; the estimates below keep a margin over that, and the
controller keeps room for its own part of a drill (the generator, the observers, the
visitors, pyinfra). Measured again with 50 deployed difusores and a publisher (2026-12-04,
every 15 s through the deploys): a difusor's working set 127 MiB on average, 138 MiB at
most, and up to 182 MiB while dpkg runs in the first deploy; the publisher 100-127 MiB;
MemAvailable fell by about 3.9 GiB for the 51 hosts. The resident watchdog (2026-12-05) adds
about 18 MiB a difusor, inside the margin.

A drill's night also has a CPU cap, set by its period (night_cores below): deploys on many
hosts only go slower, but a night whose cuts come faster than the machine can serve them
fails for the lab's sake, not the difusores'.
"""

from __future__ import annotations

import os
from pathlib import Path

from prep_iac.contract import DEFAULT_PERIOD_S, watchdog_interval_s
from prep_iac.errors import PrepError

DIFUSOR_MIB = 200
PUBLISHER_MIB = 150
CONTROLLER_MIB = 1536
MEMINFO = Path("/proc/meminfo")
CGROUP_V2 = Path("/sys/fs/cgroup/memory.max"), Path("/sys/fs/cgroup/memory.current")
CGROUP_V1 = (Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
             Path("/sys/fs/cgroup/memory/memory.usage_in_bytes"))
MIB = 1024 * 1024


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None  # "max" (no limit), or not this cgroup version


def available_mib(meminfo: str | None = None, cgroup_left: int | None = None) -> int:
    """Memory the lab can still take: the kernel's MemAvailable, or less when this machine
    is itself a container whose memory cgroup has a lower limit."""
    text = MEMINFO.read_text() if meminfo is None else meminfo
    kib = next((int(line.split()[1]) for line in text.splitlines()
                if line.startswith("MemAvailable:")), 0)
    left = cgroup_left if cgroup_left is not None else _cgroup_left()
    return min(kib // 1024, left // MIB) if left is not None else kib // 1024


def _cgroup_left() -> int | None:
    for limit_path, usage_path in (CGROUP_V2, CGROUP_V1):
        limit, usage = _read_int(limit_path), _read_int(usage_path)
        if limit is not None and usage is not None and limit < 1 << 60:  # not "unlimited"
            return max(0, limit - usage)
    return None


def needed_mib(difusores: int, publishers: int) -> int:
    return difusores * DIFUSOR_MIB + publishers * PUBLISHER_MIB + CONTROLLER_MIB


def most_difusores(available: int, publishers: int) -> int:
    return max(0, (available - CONTROLLER_MIB - publishers * PUBLISHER_MIB) // DIFUSOR_MIB)


def check(difusores: int, publishers: int, available: int | None = None) -> None:
    """Refuse, before anything boots, a lab this machine's memory cannot hold."""
    available = available_mib() if available is None else available
    need = needed_mib(difusores, publishers)
    if need > available:
        most = most_difusores(available, publishers)
        raise PrepError(
            f"{difusores} difusores and {publishers} publisher(s) need about {need} MiB of "
            f"memory (a deployed difusor holds about {DIFUSOR_MIB} MiB, with margin); this "
            f"machine has {available} MiB available",
            f"ask for at most {most} difusores, or free memory (other labs: prep-iac lab "
            "status / down)" if most else "free memory first (other labs: prep-iac lab down)")


# --- CPU of a compressed night -----------------------------------------------------------------
# A drill compresses the IEC's 10-minute period into seconds, and every lab difusor's own
# work with it: each cut starts the activator, its sweep runs every period, and the resident
# watchdog makes a pass every period/5 (2 s at least). On a real night that is about 0.01
# core a difusor; in the lab it all lands on this machine's cores. Measured on 2026-12-05
# (bench/night.py, faults none; the lab hosts' cgroups, prep_iac/lab/cpu.py):
# - a start of the activator's sandboxed units costs about 0.1 CPU s (systemd's namespaces
#   and seccomp filter, then Python): 0.38 core for 25 idle difusores starting 4.4 units a
#   second, when the watchdog was such a unit too (a timer started it until 2026-12-05);
# - a pass of the resident watchdog about 0.004 CPU s (0.28 s in 72 passes);
# - the rest of a cut, on the difusor and at the publisher, with the difusor's share of the
#   drill's conformance runs (they run through the night), about 0.8 CPU s: the difusores
#   and the publisher together took 1.05 CPU s a difusor a period both at 25 difusores and
#   30 s periods (0.88 core) and at 50 and 60 s (0.86 core), the publisher 0.10 and 0.08
#   of it; both nights kept every cut and passed every check (machine 1.42 cores busy);
# - 25 difusores at 10 s periods did not keep up (with the watchdog's timer, 2026-12-05):
#   most cuts were overtaken before any difusor served them.
START_CPU_S = 0.1
PASS_CPU_S = 0.004
CUT_CPU_S = 0.8
NIGHT_SHARE = 0.65  # of the cores; the rest is the controller's: observers, visitors, checks


def night_cores(difusores: int, period_s: float) -> float:
    """Cores the lab's difusores take through a night of this period."""
    starts_per_s = 2 / period_s  # the activator for each cut, its sweep every period
    return difusores * (START_CPU_S * starts_per_s + PASS_CPU_S / watchdog_interval_s(period_s)
                        + CUT_CPU_S / period_s)


def shortest_period_s(difusores: int, cores: int) -> int | None:
    """The shortest whole-second period, up to the real 10 minutes, whose night fits this
    machine; None when none does (their own units alone are then too much)."""
    return next((p for p in range(1, DEFAULT_PERIOD_S + 1)
                 if night_cores(difusores, p) <= NIGHT_SHARE * cores), None)


def most_night_difusores(period_s: float, cores: int) -> int:
    return int(NIGHT_SHARE * cores / night_cores(1, period_s))


def machine_cores() -> int:
    return len(os.sched_getaffinity(0))


def check_night(difusores: int, period_s: float, cores: int | None = None) -> None:
    """Refuse, before anything boots, a drill whose lab could not keep up with its cuts."""
    cores = machine_cores() if cores is None else cores
    need = night_cores(difusores, period_s)
    if need <= NIGHT_SHARE * cores:
        return
    fits = shortest_period_s(difusores, cores)
    raise PrepError(
        f"{difusores} lab difusores at {period_s:g} s periods would take about {need:.1f} of "
        f"this machine's {cores} cores for their cuts and their own units; with the "
        "observers and the checks beside them "
        "the night would fall behind for the lab's sake",
        f"give --periodo {fits}s or longer, or at most "
        f"{most_night_difusores(period_s, cores)} --difusores" if fits else
        f"ask for at most {most_night_difusores(DEFAULT_PERIOD_S, cores)} difusores")
