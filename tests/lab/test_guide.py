"""docs/guia-difusor.md, walked on a blank lab host: the guide's own commands, from an admin
account made at the console to a green `verify`.

The commands are read from the guide's code blocks, section by section, and run as written,
with only what a reader changes for their own server put in (the substitutions below): the
server's address, the account's public key, the inventory's values the guide says to fill,
and `-F CONFIG` for ssh (ssh reads ~/.ssh/config from the passwd home, not $HOME, so the
test's home cannot take its place). The console is the host's own namespace (nsenter).
The lab's host already has the lab's own `prepadmin`; the guide's `mgarcia` is created by
section 1, and everything after goes through that account alone.

    PREP_LAB_NAME=guia PREP_LAB_SUBNET=10.89.0.0/24 .venv/bin/pytest -m lab tests/lab/test_guide.py
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from conftest import REPO, assert_nothing_left, lab_settings, require_root, side_lab

from prep_iac.lab import Lab
from prep_iac.lab import ca as lab_ca
from prep_iac.lab import waivers as lab_waivers
from prep_iac.pyinfra_run import parse_results

pytestmark = pytest.mark.lab
GUIDE = REPO / "docs" / "guia-difusor.md"
HOST = "difusor-1"
EXAMPLE_ADDRESS = "203.0.113.10"  # the guide's server


def sections() -> dict[str, list[str]]:
    """The guide's shell blocks (fenced, no language) by section number ("0", "1", …)."""
    found: dict[str, list[str]] = {}
    number, fence, lines = None, None, []
    for line in GUIDE.read_text().splitlines():
        stripped = line.strip()
        if fence is None and stripped.startswith("```"):
            fence, lines = stripped[3:], []  # its language: "" for a shell block
        elif fence is not None and stripped == "```":
            if fence == "" and number is not None:
                found.setdefault(number, []).append("\n".join(lines) + "\n")
            fence = None
        elif fence is not None:
            lines.append(line.strip() if line.startswith("  ") else line)  # inside a list item
        elif line.startswith("## "):
            heading = re.match(r"## (\d+)\.", line)
            number = heading.group(1) if heading else None
    return found


def block(section: str, containing: str) -> str:
    matches = [b for b in sections()[section] if containing in b]
    assert len(matches) == 1, f"section {section} of the guide: no single block with {containing!r}"
    return matches[0]


@pytest.fixture(scope="module")
def walk(tmp_path_factory):
    """A blank difusor beside the session's lab (its name with -guia, three /24s on), the
    lab's inventory standing for the Institute's (its publisher entry holds the IEC's keys,
    with which the test sends the first cut as the Institute would), and the reader's
    workstation: a home folder and the repository's venv on PATH."""
    require_root()
    name, subnet = side_lab("guia")
    lab = Lab.fresh(name, subnet, lab_settings()["release"])
    home = tmp_path_factory.mktemp("guia-home")
    (home / ".ssh").mkdir(mode=0o700)
    try:
        lab.up(difusores=1, publishers=1)  # publisher-1 only names the IEC's keys (section 9)
        env = dict(os.environ, HOME=str(home),
                   PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
        yield SimpleNamespace(lab=lab, home=home, env=env, address=lab.hosts[HOST],
                              subnet=str(subnet), config=home / ".ssh" / "config", facts={})
    finally:
        lab.destroy()
        assert_nothing_left(lab.name)


def on_workstation(walk, script: str, expect_rc: int | None = 0,
                   in_clone: bool = False) -> subprocess.CompletedProcess:
    """A guide block run in the reader's terminal (bash; in the home folder, or in the clone
    where the guide says so), as written but for the reader's own address and ssh config."""
    script = script.replace(EXAMPLE_ADDRESS, walk.address)
    script = re.sub(r"\bssh difusor-1\b", f"ssh -F {walk.config} difusor-1", script)
    proc = subprocess.run(["bash", "-ec", script], cwd=REPO if in_clone else walk.home,
                          env=walk.env, capture_output=True, text=True, timeout=900,
                          check=False)
    if expect_rc is not None:
        assert proc.returncode == expect_rc, (script, proc.stdout[-3000:], proc.stderr[-3000:])
    return proc


def on_console(walk, script: str) -> subprocess.CompletedProcess:
    proc = walk.lab.nsenter(HOST, ["/bin/bash", "-ec", script], capture_output=True, text=True,
                            timeout=600)
    assert proc.returncode == 0, (script, proc.stdout[-3000:], proc.stderr[-3000:])
    return proc


def test_0_the_workstation_key_and_ssh_alias(walk):
    on_workstation(walk, block("0", "ssh-keygen"))
    alias = block("0", "Host difusor-1")
    home = walk.home
    walk.config.write_text(
        alias.replace(EXAMPLE_ADDRESS, walk.address).replace("~/", f"{home}/")
        + f"  UserKnownHostsFile {home}/.ssh/known_hosts\n")
    assert (home / ".ssh" / "prep-difusor").exists()


def test_1_the_console_makes_the_admin_account(walk):
    pub = (walk.home / ".ssh" / "prep-difusor.pub").read_text().strip()
    script = re.sub(r"^echo 'ssh-ed25519 AAAA….*authorized_keys$",
                    f"echo '{pub}' > /home/mgarcia/.ssh/authorized_keys",
                    block("1", "useradd"), flags=re.MULTILINE)
    assert pub in script, "the guide's authorized_keys line changed: update this test"
    out = on_console(walk, script)
    assert "parsed OK" in out.stdout + out.stderr
    fingerprint = on_console(walk, block("1", "ssh-keygen -lf")).stdout.split()[1]
    walk.facts["console_fingerprint"] = fingerprint


def test_2_the_pinned_host_key_matches_the_console(walk):
    scan = on_workstation(walk, block("2", "ssh-keyscan"))
    assert walk.facts["console_fingerprint"] in scan.stdout
    pinned = on_workstation(walk, block("2", "known_hosts"))
    walk.facts["host_key"] = pinned.stdout.strip()
    assert walk.facts["host_key"].startswith("ssh-ed25519 ")


def test_3_the_admin_gets_in_with_sudo(walk):
    out = on_workstation(walk, block("3", "SSH_CONNECTION")).stdout.split()
    assert out[-1] == "sudo-ok" and out[2] == walk.address
    walk.facts["source"] = out[0]


def test_4_the_inventory_from_the_example(walk):
    on_workstation(walk, block("4", "cp inventories/example-difusor.yml"), in_clone=True)
    path = walk.home / "prep" / "difusor.yml"
    inv = yaml.safe_load(path.read_text())
    lab = yaml.safe_load(walk.lab.inventory_path.read_text())
    pub = (walk.home / ".ssh" / "prep-difusor.pub").read_text().strip()
    inv["iec"] = lab["iec"]  # "el bloque del IEC, tal cual": here the lab is the IEC
    # "cópielo a ~/prep/ con el nombre que ponga ahí": the example's logo stands for theirs
    (walk.home / "prep" / inv["participation"]["logo"]).write_bytes(
        (REPO / "inventories" / "logo-ejemplo.png").read_bytes())
    # ...and the plant's document (emergency_power.evidence), relative to the inventory too
    evidence = inv["difusores"]["difusor-1"]["emergency_power"]["evidence"]
    (walk.home / "prep" / evidence).parent.mkdir(parents=True, exist_ok=True)
    (walk.home / "prep" / evidence).write_bytes((REPO / "inventories" / evidence).read_bytes())
    inv["admins"] = {"networks": [walk.subnet],
                     "accounts": [{"name": "mgarcia", "keys": [pub]}]}
    difusor = inv["difusores"]["difusor-1"]
    difusor.update(address=walk.address, ssh_user="mgarcia", ssh_key="~/.ssh/prep-difusor",
                   server_names=["difusor-1.lab"], host_key=walk.facts["host_key"],
                   tls={"mode": "lab-ca"},  # section 6's choice for a lab server
                   ups={"driver": "dummy-ups", "port": "auto"})  # the lab's UPS (section 4)
    difusor["public_url"] = f"http://{walk.address}/"
    path.write_text(yaml.safe_dump(inv, allow_unicode=True, sort_keys=False))
    lab_ca.share_ca(walk.lab.inventory_path, path)
    assert ipaddress.ip_address(walk.facts["source"]) in ipaddress.ip_network(walk.subnet)


def test_7_inventory_check_is_clean(walk):
    out = on_workstation(walk, block("7", "inventory check"))
    assert "valid" in out.stdout and "warning:" not in out.stdout + out.stderr


def test_8_dry_run_changes_nothing_then_deploy_twice(walk):
    before, dry = block("8", "--dry").splitlines()
    on_workstation(walk, before, expect_rc=1)  # "termina con código 1": nothing in place yet
    on_workstation(walk, dry)
    hardening = "/etc/ssh/sshd_config.d/10-prep-hardening.conf"
    assert walk.lab.nsenter(HOST, ["test", "-e", hardening]).returncode == 1, "--dry changed it"
    deploy = block("8", "prep-iac deploy difusor -i ~/prep/difusor.yml\n").strip() + " -y"
    on_workstation(walk, deploy)
    second = on_workstation(walk, deploy)
    again = second.stdout + second.stderr
    changed, errors, unchanged = parse_results(again)
    assert (changed, errors) == (0, 0) and unchanged > 0, again[-3000:]
    still_in = on_workstation(walk, block("8", "'id; sudo -n true")).stdout
    assert "prep-admins" in still_in and "sudo-ok" in still_in
    on_workstation(walk, block("8", "90-arranque"))
    assert walk.lab.nsenter(HOST, ["test", "-e", "/etc/sudoers.d/90-arranque"]).returncode == 1


def test_9_verify_owes_only_the_cut_until_the_institute_sends_one_then_is_green(walk):
    # The Institute's signed waivers: here the lab's (what a container cannot show), signed
    # by the lab's IEC key as the Institute signs a real difusor's.
    waivers = lab_waivers.path_beside(walk.lab.inventory_path)
    assert lab_waivers.signature_path(waivers).is_file()
    verify = block("9", "--waivers").strip().replace("~/prep/dispensas.yml", str(waivers))
    report = walk.home / "conformidad" / "conformance.json"

    on_workstation(walk, verify, expect_rc=1)  # "hasta el primer corte del IEC"
    before = json.loads(report.read_text())
    assert before["incumplidos"] == [], before["incumplidos"]
    assert set(before["evidencia_pendiente"]) == {"CONV-I.3", "CONV-I.9"}

    # The Institute sends its first cut (its own commands, on its side).
    cuts = walk.home / "iec-cortes"
    on_workstation(walk, f"prep-iac corte generate --out {cuts} --at 20:00 --actas 200 "
                         "--no-images")
    cut = next(p for p in cuts.iterdir() if p.is_dir() and not p.name.startswith("."))
    on_workstation(walk, f"prep-iac publish {cut} -i {walk.lab.inventory_path} "
                         f"--ledger {walk.home / 'iec-registro.sqlite'}")

    out = on_workstation(walk, verify)
    assert "todo requisito obligatorio se cumple o está dispensado" in out.stdout + out.stderr
    assert json.loads(report.read_text())["evidencia_pendiente"] == []
    assert (walk.home / "conformidad" / "conformance.html").exists()
