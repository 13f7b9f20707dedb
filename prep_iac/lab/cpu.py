"""Where a lab's CPU goes: each host's cgroup counts its processes' CPU time (cgroup v2
`cpu.stat`, kept in every cgroup whether or not the cpu controller is on), and the
machine's busy time is in /proc/stat. The drill reports the night's split with them: the
difusores, the publisher, and the rest (the controller's observers, visitors and checks,
and whatever else the machine ran)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from prep_iac.lab.layout import CGROUP_ROOT

UNIFIED = CGROUP_ROOT / "unified"  # Debian 12's hybrid layout; the whole tree on pure v2


def host_cgroup(lab: str, host: str) -> Path:
    base = UNIFIED if UNIFIED.is_dir() else CGROUP_ROOT
    return base / "prep-iac" / lab / host


def host_cpu_s(lab: str, host: str) -> float | None:
    """CPU seconds the host's processes have used since it booted; None when unreadable."""
    return _usage_s(host_cgroup(lab, host))


def machine_busy_s() -> float:
    """CPU seconds every core of the machine has spent not idle, since boot."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


# Inside a host: systemd (init.scope) and each service of system.slice. The activator's and
# the sweep's runs are units that end within seconds: what system.slice used beyond the
# services alive at both ends of a span ("ended units").
SYSTEMD, SYSTEM_SLICE, ENDED = "init.scope", "system.slice", "ended units"


def host_units_s(lab: str, host: str) -> dict[str, float]:
    """CPU seconds of the host's systemd, its system.slice and each service in it (also in
    its sub-slices: templates such as nut-driver@ups.service live there), so far."""
    payload = host_cgroup(lab, host) / "payload"
    system = payload / SYSTEM_SLICE
    out = {}
    for group in (payload / SYSTEMD, system, *sorted(system.glob("*.service")),
                  *sorted(system.glob("*.slice/*.service"))):
        seconds = _usage_s(group)
        if seconds is not None:
            out[group.name] = seconds
    return out


def _usage_s(group: Path) -> float | None:
    try:
        for line in (group / "cpu.stat").read_text().splitlines():
            key, value = line.split()
            if key == "usage_usec":
                return int(value) / 1e6
    except (OSError, ValueError):
        pass
    return None


@dataclass(frozen=True)
class Snapshot:
    at: float
    machine_s: float
    hosts: dict[str, float | None]
    units: dict[str, dict[str, float]] = field(default_factory=dict)  # host -> unit -> s


def snapshot(lab: str, hosts) -> Snapshot:
    return Snapshot(time.monotonic(), machine_busy_s(), {h: host_cpu_s(lab, h) for h in hosts},
                    {h: host_units_s(lab, h) for h in hosts})


def units_split(before: Snapshot, after: Snapshot, prefix: str) -> dict[str, float]:
    """CPU seconds of the hosts named `prefix…` between the snapshots, per unit summed over
    them: the services alive at both ends, systemd, and the ended units (the rest of
    system.slice). Largest first."""
    total: dict[str, float] = {}
    for host, late in after.units.items():
        early = before.units.get(host, {})
        if not host.startswith(prefix) or SYSTEM_SLICE not in early or SYSTEM_SLICE not in late:
            continue
        services = 0.0  # of system.slice's, alive at both ends
        for unit, seconds in late.items():
            if unit not in early or unit == SYSTEM_SLICE:
                continue
            spent = max(0.0, seconds - early[unit])
            total[unit] = total.get(unit, 0.0) + spent
            if unit != SYSTEMD:
                services += spent
        ended = late[SYSTEM_SLICE] - early[SYSTEM_SLICE] - services
        total[ENDED] = total.get(ENDED, 0.0) + max(0.0, ended)
    return dict(sorted(total.items(), key=lambda kv: -kv[1]))


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

    def by_unit(prefix):  # the units that used at least a thousandth of a core
        return {unit: c for unit, spent in units_split(before, after, prefix).items()
                if (c := cores(spent)) and c >= 0.001}

    return {"seconds": round(seconds, 1), "machine_cores": cores(machine),
            "difusores_cores": cores(dif), "publisher_cores": cores(pub),
            "rest_cores": cores(rest),
            "per_difusor_cores": cores(dif / len(difusores)) if dif is not None and difusores
            else None,
            "difusores_units_cores": by_unit("difusor-"),
            "publisher_units_cores": by_unit("publisher-")}
