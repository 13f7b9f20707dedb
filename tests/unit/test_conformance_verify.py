"""verify's plumbing without hosts: the ssh_config, host selection, an unreachable host."""

import subprocess
import sys
from pathlib import Path

import pytest
from examples import example_text

from prep_iac.conformance import sshconfig
from prep_iac.conformance.verify import pytest_command, select_hosts, unreachable, verify
from prep_iac.errors import PrepError
from prep_iac.inventory import load_inventory

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "inventories" / "example-difusor.yml"
IEC = REPO / "inventories" / "example-iec.yml"


def test_ssh_config_multiplexes_and_pins(tmp_path):
    inventory = load_inventory(IEC)
    text = sshconfig.render(inventory, tmp_path / "known_hosts", tmp_path / "cm")
    for name, host in inventory.hosts().items():
        assert f"# {name}\nHost {host.address}\n" in text
    assert "ControlMaster auto" in text and f"ControlPath {tmp_path}/cm/%C" in text
    assert "ControlPersist 120" in text and "BatchMode yes" in text
    if any(h.host_key for h in inventory.hosts().values()):
        assert "StrictHostKeyChecking yes" in text


def test_every_run_shares_connections_of_its_own(tmp_path):
    """Two runs at once (a drill's opening and closing verify) each close their connections
    when they end: sharing one socket, the first to end broke the other's checks in flight
    (`mux_client_request_alive: write packet: Broken pipe`). Gone when the process exits."""
    script = "\n".join([
        "import sys", f"sys.path.insert(0, {str(REPO)!r})", "from pathlib import Path",
        "from prep_iac.conformance import sshconfig",
        "from prep_iac.inventory import load_inventory",
        f"inv, src = load_inventory({str(IEC)!r}), Path({str(IEC)!r})",
        f"tmp = Path({str(tmp_path)!r})",
        "for n in (1, 2):",
        "    cfg = sshconfig.write_ssh_config(inv, src, tmp / f'c{n}')",
        "    line = next(x for x in cfg.read_text().splitlines() if 'ControlPath' in x)",
        "    d = Path(line.split()[1]).parent",
        "    print(d, d.is_dir(), oct(d.stat().st_mode & 0o777))"])
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout.split("\n")
    (first, *a), (second, *b) = out[0].split(), out[1].split()
    assert first != second and a == b == ["True", "0o700"]
    assert len(f"{first}/{'0' * 40}") < 108  # %C is 40 hex digits; a socket path's limit
    assert not Path(first).exists() and not Path(second).exists()


def test_select_hosts():
    inventory = load_inventory(EXAMPLE)
    assert select_hosts(inventory, None) == ["difusor-1"]
    assert select_hosts(inventory, "difusor-1") == ["difusor-1"]
    with pytest.raises(PrepError, match="'difusor-9', which is not a host"):
        select_hosts(inventory, "difusor-9")


def test_pytest_command_runs_the_shipped_suites():
    cmd = pytest_command(Path("/s"), "10.0.0.1", Path("/c"), Path("/i.yml"), Path("/r.json"),
                         "difusor-1", Path("/p.ini"))
    assert cmd[1:4] == ["-m", "pytest", "/s"]
    for arg in ("--hosts=ssh://10.0.0.1", "--ssh-config=/c", "--sudo",
                "--prep-inventory=/i.yml", "--prep-results=/r.json", "--prep-host=difusor-1",
                "--continue-on-collection-errors", "prep_iac.conformance.collector"):
        assert arg in cmd


def test_unreachable_host_fails_every_inside_requirement(tmp_path):
    # Loopback, a port nothing listens on: refused at once, no traffic leaves the machine.
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "admin")],
                   check=True)  # the checks before connecting want a usable key file
    data = example_text(EXAMPLE).replace("203.0.113.10", "127.0.0.1").replace(
        "ssh_port: 22", "ssh_port: 1").replace("~/.ssh/id_ed25519", "admin")
    inventory = tmp_path / "inv.yml"
    inventory.write_text(data)
    report, paths = verify(inventory, out_dir=tmp_path / "out")
    assert report["exit_code"] == 1 and paths["html"].exists()
    check = report["comprobaciones"][0]
    assert check["check"] == "verify::conexion_ssh" and check["status"] == "no cumple"
    assert "CONV-II.c.1" in check["requirements"] and "CONV-IV.1" in check["requirements"]
    assert "ssh" in check["evidence"][0]["command"]


def test_unreachable_result_shape():
    import subprocess
    proc = subprocess.CompletedProcess(["ssh"], 255, "", "Connection timed out")
    [r] = unreachable("difusor-1", "ssh -F x 1.2.3.4 true", proc)
    assert r.evidence[0].output == "Connection timed out" and r.evidence[0].rc == 255
