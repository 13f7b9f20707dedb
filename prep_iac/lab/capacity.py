"""How many lab hosts this machine can hold, checked before anything boots.

Memory is what runs out: a lab host is a whole booted Debian with its services, all of them
on this one machine. Measured on lab hosts (`prep-iac lab status`, the host's memory
cgroup): a difusor after the full deploy holds about 140 MiB (nginx, fail2ban, NUT, sshd,
systemd, journald), a publisher less; the estimates below keep a margin over that, and the
controller keeps room for its own part of a drill (the generator, the observers, the
visitors, pyinfra). Measured again with 50 deployed difusores and a publisher (2026-12-04,
every 15 s through the deploys): a difusor's working set 127 MiB on average, 138 MiB at
most, and up to 182 MiB while dpkg runs in the first deploy; the publisher 100-127 MiB;
MemAvailable fell by about 3.9 GiB for the 51 hosts. CPU does not set a cap: more hosts on
the same cores only go slower, which the drill's verdicts and bench/night.py measure (the
50-host lab alone kept the load of this 2-core machine at 110-130 through its deploys).
"""

from __future__ import annotations

from pathlib import Path

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
