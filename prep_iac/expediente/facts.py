"""What the infrastructure sheet says of each server, read on the server itself over SSH:
one shell script (READ), its sections parsed here (parse). The connection is the
project's: preflight.py for reachability and pins, conformance/sshconfig.py for ssh
(the inventory's user, key and pinned host keys). A host that cannot be read is "not read",
with the reason; nothing is assumed of it.

Every text that comes back from the host goes through contract.sanitize_remote_text.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from prep_iac.conformance.suites.test_redundancy import (
    REDUNDANT_LVM,
    bond_links,
    md_arrays,
)
from prep_iac.contract import PREP_ROOT, sanitize_remote_text

TIMEOUT_S = 60
MARK = "@@prep-ficha@@"

# One ssh command; each section starts with a MARK line. sudo -n: never a password prompt
# (the inventory's admins have sudo; without it, lvs and ipmitool are simply not seen).
READ = f"""
s() {{ echo "{MARK} $1"; }}
s os; (. /etc/os-release && echo "$PRETTY_NAME"); uname -sr
s virt; systemd-detect-virt --container 2>/dev/null || echo none
s cpu; awk -F': *' '/^model name/ {{print $2; exit}}' /proc/cpuinfo; nproc
s memory; awk '/^MemTotal:/ {{print $2}}' /proc/meminfo
cat /sys/fs/cgroup/memory.max 2>/dev/null || echo max
s filesystem; p={PREP_ROOT}; while [ ! -e "$p" ]; do p=$(dirname "$p"); done
df -P -B1 "$p" | tail -n 1
s disks; lsblk -J -b -d -o NAME,TYPE,SIZE,MODEL 2>/dev/null || echo '{{}}'
s mdstat; cat /proc/mdstat 2>/dev/null
s lvm; sudo -n lvs --noheadings -o lv_name,segtype 2>/dev/null
s links; ip -j link 2>/dev/null || echo '[]'
s bonding; for f in /proc/net/bonding/*; do [ -f "$f" ] && {{ echo "== $f"; cat "$f"; }}; done
s power; for d in /sys/class/power_supply/*; do [ -r "$d/type" ] && \
echo "$(basename "$d") $(cat "$d/type") $(cat "$d/online" 2>/dev/null || echo -)"; done
if command -v ipmitool >/dev/null 2>&1; then sudo -n ipmitool sdr type 'Power Supply' 2>&1 \
| sed 's/^/ipmi /'; else echo "ipmi none"; fi
s services; for u in nftables fail2ban nut-monitor keepalived; do
echo "$u $(systemctl is-active "$u" 2>/dev/null || true)"; done
true
"""


@dataclass
class HostFacts:
    """What was read on one host. `error` set: nothing was read (the reason)."""

    name: str
    error: str | None = None
    os: str | None = None
    kernel: str | None = None
    container: str | None = None  # systemd-nspawn, docker...; None on a machine or a VM
    cpu_model: str | None = None
    cores: int | None = None
    memory_bytes: int | None = None
    memory_limit_bytes: int | None = None  # the cgroup's, when below what the host has
    filesystem: dict | None = None  # {"mount", "size"} of the publication's filesystem
    disks: list[dict] = field(default_factory=list)  # {"name", "size", "model"}
    md: list[dict] = field(default_factory=list)  # {"name", "level", "members"}
    lvm_redundant: list[str] = field(default_factory=list)  # "lv (raid1)"
    interfaces: list[dict] = field(default_factory=list)  # {"name", "state", "kind"}
    bonds: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (links, up)
    power: list[str] = field(default_factory=list)  # what the host shows of its supplies
    ipmi: str | None = None  # "none" (no ipmitool), or its answer on the power supplies
    services: dict[str, str] = field(default_factory=dict)  # unit -> is-active

    @property
    def read(self) -> bool:
        return self.error is None


def _clean(text: str | None) -> str | None:
    return sanitize_remote_text(text, 200) if text else None


def sections(output: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    current = None
    for line in output.splitlines():
        if line.startswith(MARK):
            current = line[len(MARK):].strip()
            out[current] = []
        elif current is not None:
            out[current].append(line)
    return out


def _int(text: str | None) -> int | None:
    return int(text) if text and text.strip().isdigit() else None


def parse(name: str, output: str) -> HostFacts:
    """The facts of one host from READ's output (pure: unit-tested with canned output)."""
    s = sections(output)
    f = HostFacts(name)
    os_lines = s.get("os", [])
    f.os, f.kernel = (_clean(os_lines[0]) if os_lines else None,
                      _clean(os_lines[1]) if len(os_lines) > 1 else None)
    virt = (s.get("virt") or ["none"])[0].strip()
    f.container = None if virt in ("none", "") else _clean(virt)
    cpu = s.get("cpu", [])
    if len(cpu) >= 2:
        f.cpu_model, f.cores = _clean(cpu[0]), _int(cpu[1])
    elif cpu:
        f.cores = _int(cpu[0])
    mem = s.get("memory", [])
    kb = _int(mem[0]) if mem else None
    f.memory_bytes = kb * 1024 if kb is not None else None
    limit = _int(mem[1]) if len(mem) > 1 else None
    if limit and f.memory_bytes and limit < f.memory_bytes:
        f.memory_limit_bytes = limit
    fs = " ".join(s.get("filesystem", [])).split()
    if len(fs) >= 6 and fs[1].isdigit():
        f.filesystem = {"mount": _clean(fs[-1]), "size": int(fs[1])}
    f.disks = _disks("\n".join(s.get("disks", [])))
    f.md = [{"name": n, "level": lv, "members": m}
            for n, lv, m in md_arrays("\n".join(s.get("mdstat", [])))]
    lvs = " ".join(s.get("lvm", [])).split()
    f.lvm_redundant = [f"{lv} ({seg})" for lv, seg in zip(lvs[::2], lvs[1::2], strict=False)
                       if seg.startswith(REDUNDANT_LVM)]
    f.interfaces = _links("\n".join(s.get("links", [])))
    bonding = "\n".join(s.get("bonding", []))
    for part in bonding.split("== ")[1:]:
        path, _, body = part.partition("\n")
        f.bonds[_clean(path.rsplit("/", 1)[-1]) or "bond"] = bond_links(body)
    ipmi = []
    for line in s.get("power", []):
        if line.startswith("ipmi "):
            ipmi.append(line[5:].strip())
        elif line.strip():
            f.power.append(_clean(line) or "")
    f.ipmi = None if not ipmi else "none" if ipmi == ["none"] else _clean("; ".join(ipmi))
    for line in s.get("services", []):
        unit, _, state = line.partition(" ")
        if unit:
            f.services[_clean(unit) or unit] = _clean(state.strip()) or "desconocido"
    return f


def _disks(text: str) -> list[dict]:
    try:
        devices = json.loads(text or "{}").get("blockdevices") or []
    except (ValueError, AttributeError):
        return []
    return [{"name": _clean(d.get("name")), "size": _int(str(d.get("size") or "")),
             "model": _clean((d.get("model") or "").strip())}
            for d in devices if d.get("type") == "disk"]


def _links(text: str) -> list[dict]:
    try:
        links = json.loads(text or "[]")
    except ValueError:
        return []
    out = []
    for link in links if isinstance(links, list) else []:
        name = link.get("ifname")
        if not name or name == "lo":
            continue
        kind = (link.get("linkinfo") or {}).get("info_kind") or link.get("link_type") or ""
        out.append({"name": _clean(name), "state": _clean(link.get("operstate")) or "",
                    "kind": _clean(kind) or ""})
    return out


# --- reading -------------------------------------------------------------------------------


def read_hosts(inventory, inventory_path: Path, names: list[str]) -> dict[str, HostFacts]:
    """Every named host's facts. A host whose key file is missing or unusable, or that does
    not answer, is "not read", saying why; a host key that is not the pin stops (preflight)."""
    from prep_iac import preflight
    from prep_iac.conformance import sshconfig

    hosts = inventory.hosts()
    out: dict[str, HostFacts] = {}
    for name in names:
        problems = preflight.key_problems([(name, "ssh_key", hosts[name].ssh_key)])
        if problems:
            out[name] = HostFacts(name, error=_clean(problems[0].split(": ", 1)[-1]))
    warnings: dict[str, str] = {}

    def warn(line: str) -> None:
        host, _, why = line.partition(": ")
        warnings[host] = why

    rest = [n for n in names if n not in out]
    down = set(preflight.check_hosts(preflight.targets(inventory, rest), warn=warn,
                                     admins=inventory.admins)) if rest else set()
    up = [n for n in rest if n not in down]
    for name in down:
        out[name] = HostFacts(name, error=_clean(warnings.get(name)) or "no responde")
    if up:
        config = sshconfig.write_ssh_config(
            inventory, inventory_path,
            Path(tempfile.mkdtemp(prefix="prep-expediente-")) / "ssh_config")
        for name in up:
            out[name] = read_one(config, name, hosts[name].address)
            sshconfig.close_master(config, hosts[name].address)
    return {name: out[name] for name in names}


def read_one(config: Path, name: str, address: str) -> HostFacts:
    try:
        proc = subprocess.run(["ssh", "-F", str(config), address, "sh -s"], input=READ,
                              capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return HostFacts(name, error=f"no terminó de leer en {TIMEOUT_S} s")
    if proc.returncode != 0 or MARK not in proc.stdout:
        why = re.sub(r"\s+", " ", proc.stderr or "").strip()[-300:]
        return HostFacts(name, error=_clean(f"ssh terminó con {proc.returncode}: {why}"))
    return parse(name, proc.stdout)
