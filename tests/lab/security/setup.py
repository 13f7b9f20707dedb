"""Helpers for the security lab tests: the narrowed inventory, probes run on lab hosts,
nftables and journal reads, bounded waits."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import select
import shlex
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import yaml

REPO_DIR = Path(__file__).resolve().parents[3]
PROBE = Path(__file__).with_name("probe.py")
DEPLOY_FULL = Path(__file__).with_name("deploy_full.py")
WRITTEN: list[Path] = []  # inventories written by write_inventory(), removed at the end
STRANGER = 222  # host part of an address outside every allowed network, added to difusor-2


def gateway(subnet: str) -> str:
    return str(next(ipaddress.ip_network(subnet).hosts()))


def stranger(subnet: str) -> str:
    return str(ipaddress.ip_network(subnet).network_address + STRANGER)


def write_inventory(lab, suffix: str, admins: list[str], iec: list[str],
                    limits: dict | None = None) -> Path:
    """The lab's inventory with narrower networks: admins and IEC sources as given (/32s),
    so other lab hosts are outsiders, attackers, or the IEC, as a test needs."""
    data = yaml.safe_load(Path(lab.inventory_path).read_text())
    data["admins"]["networks"] = admins
    data["iec"]["sources"] = iec
    for d in data["difusores"].values():
        d["rate_limits"] = limits or {"requests_per_s": 50, "burst": 200, "connections": 20,
                                      "new_connections_per_s": 20}
    out = Path(lab.inventory_path).with_name(Path(lab.inventory_path).stem + f"-{suffix}.yml")
    WRITTEN.append(out)
    out.write_text("# Written by tests/lab/test_security.py\n"
                   + yaml.safe_dump(data, sort_keys=False, width=200))
    return out


def remove_written() -> None:
    """Remove the inventories written here, and the lab CAs the TLS component put beside."""
    while WRITTEN:
        path = WRITTEN.pop()
        path.unlink(missing_ok=True)
        shutil.rmtree(path.with_suffix(".lab-ca"), ignore_errors=True)


def probe(lab, name: str, *args: str, timeout: float = 120) -> dict:
    """Run probe.py on lab host `name` (python3 there), return its JSON answer."""
    cmd = lab.ssh_command(name, "python3 - " + " ".join(shlex.quote(a) for a in args))
    with open(PROBE, "rb") as script:
        proc = subprocess.run(cmd, stdin=script, capture_output=True, timeout=timeout,
                              check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout.decode().strip().splitlines()[-1])


def sudo(lab, name: str, command: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return lab.run(name, "sudo sh -c " + shlex.quote(command), timeout=timeout)


def banned(lab, name: str, address: str, nsenter: bool = False) -> bool:
    """Whether `address` is in the host's banned4 set. nsenter=True reads it without SSH
    (when the controller itself may be the banned one)."""
    from prep_iac.facts.nftables import parse_set_elements

    if nsenter:
        out = lab.nsenter(name, ["nft", "-j", "list", "set", "inet", "prep", "banned4"],
                          timeout=30).stdout
    else:
        out = sudo(lab, name, "nft -j list set inet prep banned4").stdout
    return address in parse_set_elements(out)


def ban_sets_with(lab, name: str, address: str) -> list[str]:
    """Which of the host's ban sets (banned4, banned6) hold `address`, read without SSH."""
    from prep_iac.facts.nftables import parse_set_elements

    out = []
    for name_set in ("banned4", "banned6"):
        listed = lab.nsenter(name, ["nft", "-j", "list", "set", "inet", "prep", name_set],
                             timeout=30).stdout
        if address in parse_set_elements(listed):
            out.append(name_set)
    return out


def jails_banning(lab, name: str, address: str) -> list[str]:
    """The jails whose `fail2ban-client status <jail>` lists `address` as banned."""
    out = []
    for jail in jail_list(lab, name):
        status = f2b(lab, name, f"status {jail}").stdout
        line = next((x for x in status.splitlines() if "Banned IP list:" in x), "")
        if address in line.split(":", 1)[-1].split():
            out.append(jail)
    return out


def get_from_here(url: str, timeout: float = 10.0) -> int | str:
    """One GET from the controller itself (a lab address), bounded; the status or why not.
    The difusor's certificate is the lab's own: not verified."""
    import ssl
    import urllib.error
    import urllib.request

    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    request = urllib.request.Request(url, headers={"User-Agent": "Mozilla/5.0 (prep-iac lab)"})
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (OSError, TimeoutError) as error:
        return f"error:{error.__class__.__name__}: {error}"


def ban_left(lab, name: str, address: str) -> int:
    """Seconds left on the ban of `address` in banned4 (0 if not banned)."""
    out = lab.nsenter(name, ["nft", "-j", "list", "set", "inet", "prep", "banned4"],
                      timeout=30).stdout
    for item in json.loads(out or "{}").get("nftables", []):
        for elem in item.get("set", {}).get("elem", []):
            if isinstance(elem, dict) and elem.get("elem", {}).get("val") == address:
                return int(elem["elem"].get("expires", 0))
    return 0


def f2b(lab, name: str, args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """fail2ban-client on the host, through nsenter (works while the controller is banned)."""
    return lab.nsenter(name, "fail2ban-client " + args, timeout=timeout)


def f2b_journal(lab, name: str, since: str = "-15min") -> str:
    return lab.nsenter(name, f"journalctl -q -o cat -u fail2ban --since {since}",
                       timeout=60).stdout


def jail_list(lab, name: str) -> list[str]:
    out = f2b(lab, name, "status").stdout
    line = next(x for x in out.splitlines() if "Jail list:" in x)
    return [j.strip() for j in line.split(":", 1)[1].split(",") if j.strip()]


def ignore_list(lab, name: str, jail: str) -> set[str]:
    out = f2b(lab, name, f"get {jail} ignoreip").stdout
    return {line.strip(" |`-") for line in out.splitlines()[1:] if line.strip(" |`-")}


@contextlib.contextmanager
def unignored(lab, name: str, network: str, jails: list[str]):
    """Take `network` out of the jails' ignore lists for a test (then put it back), so an
    admin-network host can play an ordinary source. Proves it is out before yielding."""
    bare = network.removesuffix("/32")
    try:
        for jail in jails:
            for form in dict.fromkeys((network, bare)):  # fail2ban stores a /32 bare
                f2b(lab, name, f"set {jail} delignoreip {form}")
            left = ignore_list(lab, name, jail)
            assert network not in left and bare not in left, (jail, left)
        yield
    finally:
        for jail in jails:
            f2b(lab, name, f"set {jail} addignoreip {network}")


def say(session: subprocess.Popen, command: str, timeout: float = 15) -> str:
    """Send a command to a `sh` over an open SSH session; its first output line (bounded)."""
    session.stdin.write(command.encode() + b"\n")
    session.stdin.flush()
    ready, _, _ = select.select([session.stdout], [], [], timeout)
    if not ready:
        return f"(no answer within {timeout:.0f} s)"
    return session.stdout.readline().decode().strip()


def wait_for(predicate, timeout: float, step: float = 1.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def journal_since(lab, name: str, identifier: str, cursor_time: str) -> str:
    return sudo(lab, name, f"journalctl -q -o cat -t {identifier} --since '{cursor_time}'").stdout


def publish_generated_cut(lab, name: str, tmp: Path) -> tuple[str, list[str]]:
    """Generate a cut (prep_iac.corte), make it `current` on the host; return its id and the
    URL paths of every file in it."""
    out = tmp / "cut"
    subprocess.run([sys.executable, "-m", "prep_iac.cli", "corte", "generate", "--out",
                    str(out), "--at", "20:00", "--actas", "200", "--image-kb", "2"],
                   cwd=REPO_DIR, check=True, capture_output=True, timeout=120)
    (cut,) = [p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")]
    archive = tmp / "cut.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(cut, arcname=cut.name)
    paths = ["/" + str(p.relative_to(cut)) for p in sorted(cut.rglob("*")) if p.is_file()]
    with open(archive, "rb") as data:
        subprocess.run(lab.ssh_command(name, "sudo sh -c 'mkdir -p /srv/prep/cortes && "
                                       "tar -xf - -C /srv/prep/cortes && "
                                       f"ln -sfn cortes/{cut.name} /srv/prep/current.tmp && "
                                       "mv -T /srv/prep/current.tmp /srv/prep/current && "
                                       "rm -f /var/lib/prep-web/por-abrir /var/lib/prep-web/aviso'"),
                       stdin=data, check=True, capture_output=True, timeout=120)
    return cut.name, paths
