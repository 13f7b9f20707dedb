"""Is the host a container, and what does that forbid? Probed on the host, not assumed.

    from prep_iac.facts.container import Container
    info = host.get_fact(Container)
    # {"container": "systemd-nspawn" | None,
    #  "forbids": {"kernel_sysctl": "why…", "auditd": "why…", "timesync": "why…",
    #              "loop_filesystem": "why…"},
    #  "probes": {...raw answers...}}

Deploys skip what ``forbids`` names and log its reason; checks report those items as
"not applicable in a container", never as a silent pass. Run it with sudo: the audit and
/proc/1 probes need root.
"""

from __future__ import annotations

from pyinfra.api import FactBase

# AUDIT_GET (type 1000) with NLM_F_REQUEST|NLM_F_ACK over NETLINK_AUDIT (9): the kernel
# answers ECONNREFUSED outside the initial pid namespace, i.e. in any container.
_AUDIT_PROBE = r"""
import errno, socket, struct
try:
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 9)
except OSError as e:
    print("audit=nosocket:" + errno.errorcode.get(e.errno, str(e.errno))); raise SystemExit
s.settimeout(2)
try:
    s.bind((0, 0))
    s.send(struct.pack("=LHHLL", 16, 1000, 5, 1, 0))
    data = s.recv(65536)
except OSError as e:
    print("audit=error:" + errno.errorcode.get(e.errno, str(e.errno))); raise SystemExit
kind = struct.unpack("=LHHLL", data[:16])[1]
code = struct.unpack("=i", data[16:20])[0] if kind == 2 else 0
print("audit=ok" if code == 0 else "audit=error:" + errno.errorcode.get(-code, str(-code)))
"""

COMMAND = (
    "v=$(systemd-detect-virt --container 2>/dev/null); echo \"detect_virt=${v:-unknown}\"; "
    "[ -r /run/systemd/container ] && echo \"run_container=$(head -n1 /run/systemd/container)\"; "
    "echo \"pid1_container=$({ tr '\\0' '\\n' < /proc/1/environ; } 2>/dev/null "
    "| sed -n 's/^container=//p' | head -n1)\"; "
    "echo \"uid=$(id -u)\"; "
    "echo \"proc_sys_mount=$(awk '$5 == \"/proc/sys\" {split($6, o, \",\"); print o[1]}' "
    "/proc/self/mountinfo | tail -n1)\"; "
    "for k in kernel/randomize_va_space vm/swappiness; do "
    "if [ -w /proc/sys/$k ]; then echo \"sysctl_$k=writable\"; "
    "else echo \"sysctl_$k=readonly\"; fi; done; "
    # A loop device the host can attach an image to (the jail's own filesystem): the
    # control node, and the node of the device it would hand out next.
    "if [ -c /dev/loop-control ]; then f=$(losetup -f 2>/dev/null); "
    "if [ -n \"$f\" ] && [ -b \"$f\" ]; then echo loop=ok; else echo \"loop=nofree:$f\"; fi; "
    "else echo loop=nocontrol; fi; "
    "grep '^CapBnd:' /proc/self/status | sed 's/^CapBnd:[[:space:]]*/capbnd=/'; "
    "if command -v python3 >/dev/null 2>&1; then python3 -c '" + _AUDIT_PROBE + "'; "
    "else echo audit=unknown; fi; exit 0"
)

CAP_SYS_TIME = 25


def parse(lines: list[str]) -> dict[str, str]:
    probes = {}
    for line in lines:
        key, sep, value = line.strip().partition("=")
        if sep:
            probes[key] = value.strip()
    return probes


def container_name(probes: dict[str, str]) -> str | None:
    for key in ("detect_virt", "run_container", "pid1_container"):
        value = probes.get(key, "")
        if value and value not in ("none", "unknown"):
            return value
    return None


def forbids(probes: dict[str, str], container: str | None) -> dict[str, str]:
    out = {}
    as_root = probes.get("uid") == "0"
    kernel_ro = (probes.get("proc_sys_mount") == "ro"
                 or (as_root and probes.get("sysctl_kernel/randomize_va_space") == "readonly"))
    if kernel_ro:
        out["kernel_sysctl"] = ("kernel.* and vm.* sysctls are read-only here (/proc/sys is "
                                "mounted read-only): they belong to the machine hosting "
                                f"this {container or 'container'}")
    audit = probes.get("audit", "unknown")
    if audit == "error:ECONNREFUSED":
        out["auditd"] = ("the kernel refuses audit netlink outside its initial pid namespace: "
                         "auditd cannot run in a container")
    elif audit.startswith("nosocket:"):
        where = f"this {container} container" if container else "this kernel"
        out["auditd"] = (f"{where} offers no audit netlink socket "
                         f"({audit.partition(':')[2]}): auditd cannot run")
    elif audit in ("unknown", "error:EPERM") and container:
        out["auditd"] = ("in a container, and audit netlink could not be probed "
                         f"({audit}; run the fact with sudo)")
    try:
        can_set_time = bool(int(probes["capbnd"], 16) >> CAP_SYS_TIME & 1)
    except (KeyError, ValueError):
        can_set_time = container is None
    if not can_set_time:
        out["timesync"] = ("no CAP_SYS_TIME in the capability bounding set: the clock belongs "
                           "to the machine hosting the container, time sync cannot run here")
    loop = probes.get("loop", "unknown")
    if loop != "ok":
        out["loop_filesystem"] = {
            "nocontrol": "no /dev/loop-control here: the host offers no loop devices",
        }.get(loop, f"no free loop device node to attach an image to ({loop})")
        if container:
            out["loop_filesystem"] += f" (a {container} container sees only the devices it is given)"
    return out


def interpret(lines: list[str]) -> dict:
    probes = parse(lines)
    container = container_name(probes)
    return {"container": container, "forbids": forbids(probes, container), "probes": probes}


class Container(FactBase):
    """Whether the host is a container and which hardening items that forbids (see module)."""

    @staticmethod
    def default() -> dict:
        return {"container": None, "forbids": {}, "probes": {}}

    def command(self) -> str:
        return COMMAND

    def process(self, output: list[str]) -> dict:
        return interpret(output)
