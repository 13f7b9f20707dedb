"""Helpers for the security lab tests: the narrowed inventory, probes run on lab hosts,
nftables and journal reads, bounded waits."""

from __future__ import annotations

import ipaddress
import json
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


def banned(lab, name: str, address: str) -> bool:
    out = sudo(lab, name, "nft -j list set inet prep banned4").stdout
    from prep_iac.facts.nftables import parse_set_elements

    return address in parse_set_elements(out)


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
