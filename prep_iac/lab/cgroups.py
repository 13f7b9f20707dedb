"""One cgroup per host, so nspawns without a host systemd do not collide, and so a host's
processes and memory can be found (and ended) as a whole.

name=systemd and unified are the hierarchies nspawn and the booted systemd use. Memory is
accounted in the v1 memory hierarchy, below the cgroup the controller itself runs in.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from prep_iac.lab.layout import CGROUP_ROOT

HIERARCHIES = ("systemd", "unified")


def own_memory_cgroup() -> Path | None:
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            if "memory" in controllers.split(","):
                base = CGROUP_ROOT / "memory"
                return base / path.lstrip("/") if base.is_dir() else None
    except OSError:
        pass
    return None


def dirs_for(lab: str, host: str, memory_base: Path | None) -> list[Path]:
    out = [CGROUP_ROOT / h / "prep-iac" / lab / host for h in HIERARCHIES
           if (CGROUP_ROOT / h).is_dir()]
    if memory_base is not None:
        out.append(memory_base / "prep-iac" / lab / host)
    return out


def create(dirs: list[Path]) -> list[Path]:
    """mkdir each cgroup; returns the cgroup.procs files to join."""
    for d in dirs:
        d.mkdir(parents=True, exist_ok=True)
    return [d / "cgroup.procs" for d in dirs]


def pids(d: Path) -> set[int]:
    """Every process in cgroup ``d`` and below."""
    found: set[int] = set()
    if not d.is_dir():
        return found
    for dirpath, _, files in os.walk(d):
        if "cgroup.procs" in files:
            try:
                text = Path(dirpath, "cgroup.procs").read_text()
            except OSError:
                continue
            found.update(int(p) for p in text.split())
    return found


def kill_all(d: Path) -> None:
    for pid in pids(d):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def remove(d: Path) -> bool:
    """rmdir the cgroup tree bottom-up; True when it is gone."""
    if not d.exists():
        return True
    for dirpath, _, _ in sorted(os.walk(d), key=lambda t: -t[0].count("/")):
        try:
            os.rmdir(dirpath)
        except OSError:
            pass
    return not d.exists()


def prune_empty_parents(d: Path, stop_at: str = "prep-iac") -> None:
    """Remove the lab's (and prep-iac's) cgroup dirs once no host is left in them."""
    parent = d.parent
    while parent.name and parent.parent != parent:
        try:
            os.rmdir(parent)
        except OSError:
            return
        if parent.name == stop_at:
            return
        parent = parent.parent


def memory_bytes(memory_dir: Path) -> int | None:
    """Working set: usage minus inactive page cache (what `docker stats` reports on v1)."""
    try:
        usage = int((memory_dir / "memory.usage_in_bytes").read_text())
        stat = dict(line.split() for line in (memory_dir / "memory.stat").read_text().splitlines())
    except (OSError, ValueError):
        return None
    return max(0, usage - int(stat.get("total_inactive_file", 0)))
