"""What a lab left on the controller: the check behind "down leaves nothing behind"."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from prep_iac.lab import cgroups, network
from prep_iac.lab.layout import CGROUP_ROOT, lab_dir
from prep_iac.lab.spec import bridge_name


def mounts(lab: str) -> list[str]:
    prefix = str(lab_dir(lab)) + "/"
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if line.split()[4].startswith(prefix)]


def links(lab: str) -> list[str]:
    bridge = bridge_name(lab)
    return [link["ifname"] for link in network.links()
            if link["ifname"] == bridge or link.get("master") == bridge]


def cgroup_dirs(lab: str, memory_base: Path | None = None) -> list[str]:
    roots = [CGROUP_ROOT / h / "prep-iac" / lab for h in cgroups.HIERARCHIES]
    mem = memory_base or cgroups.own_memory_cgroup()
    if mem is not None:
        roots.append(mem / "prep-iac" / lab)
    return [str(r) for r in roots if r.exists()]


def processes(lab: str) -> list[str]:
    """Processes whose command line names the lab's directory (nspawn, launchers, ssh
    masters) or that sit in one of its cgroups."""
    needle = str(lab_dir(lab)) + "/"
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(
                errors="replace")
            cg = Path(f"/proc/{entry}/cgroup").read_text()
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if stat.rpartition(")")[2].split()[0] in ("Z", "X"):
            continue  # exited, waiting for its parent to reap it
        if needle in cmd or f"/prep-iac/{lab}/" in cg:
            found.append(f"{entry} {cmd.strip()[:120]}")
    return found


def netns(lab: str) -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False).stdout
    return [line for line in out.splitlines() if lab in line]


def report(lab: str, memory_base: Path | None = None) -> dict[str, list[str]]:
    """Every kind of leftover, empty lists when the lab left nothing behind."""
    return {"mounts": mounts(lab), "links": links(lab),
            "cgroups": cgroup_dirs(lab, memory_base), "processes": processes(lab),
            "netns": netns(lab)}


def remaining(lab: str, memory_base: Path | None = None) -> dict[str, list[str]]:
    """Only the kinds of leftover that are there: {} when the lab left nothing behind."""
    return {kind: items for kind, items in report(lab, memory_base).items() if items}
