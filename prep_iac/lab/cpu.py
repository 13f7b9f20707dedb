"""Where a lab's CPU goes: each host's cgroup counts its processes' CPU time (cgroup v2
`cpu.stat`, kept in every cgroup whether or not the cpu controller is on), and the
machine's busy time is in /proc/stat. The drill reports the night's split with them: the
difusores, the publisher, and the rest (the controller's observers, visitors and checks,
and whatever else the machine ran)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from prep_iac.lab.layout import CGROUP_ROOT

UNIFIED = CGROUP_ROOT / "unified"  # Debian 12's hybrid layout; the whole tree on pure v2


def host_cgroup(lab: str, host: str) -> Path:
    base = UNIFIED if UNIFIED.is_dir() else CGROUP_ROOT
    return base / "prep-iac" / lab / host


def host_cpu_s(lab: str, host: str) -> float | None:
    """CPU seconds the host's processes have used since it booted; None when unreadable."""
    try:
        for line in (host_cgroup(lab, host) / "cpu.stat").read_text().splitlines():
            key, value = line.split()
            if key == "usage_usec":
                return int(value) / 1e6
    except (OSError, ValueError):
        pass
    return None


def machine_busy_s() -> float:
    """CPU seconds every core of the machine has spent not idle, since boot."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Snapshot:
    at: float
    machine_s: float
    hosts: dict[str, float | None]


def snapshot(lab: str, hosts) -> Snapshot:
    return Snapshot(time.monotonic(), machine_busy_s(), {h: host_cpu_s(lab, h) for h in hosts})


def split(before: Snapshot, after: Snapshot) -> dict:
    """Cores used on average between two snapshots: by the difusores (together and each),
    the publisher(s), and the rest of the machine. None for a part a host's cgroup did not
    show (a host restarted in between starts its count again)."""
    seconds = after.at - before.at

    def used(names):
        spans = [after.hosts.get(h) - before.hosts[h] for h in names
                 if before.hosts.get(h) is not None and after.hosts.get(h) is not None]
        return sum(spans) if len(spans) == len(names) and min(spans, default=0) >= 0 else None

    difusores = sorted(h for h in before.hosts if h.startswith("difusor-"))
    publishers = sorted(h for h in before.hosts if h.startswith("publisher-"))
    machine = after.machine_s - before.machine_s
    dif, pub = used(difusores), used(publishers)
    rest = machine - dif - pub if dif is not None and pub is not None else None

    def cores(value):
        return round(value / seconds, 3) if value is not None and seconds > 0 else None

    return {"seconds": round(seconds, 1), "machine_cores": cores(machine),
            "difusores_cores": cores(dif), "publisher_cores": cores(pub),
            "rest_cores": cores(rest),
            "per_difusor_cores": cores(dif / len(difusores)) if dif is not None and difusores
            else None}
