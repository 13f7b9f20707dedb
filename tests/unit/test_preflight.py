"""Checks before connecting (prep_iac/preflight.py): key files, reachability, pinned host keys,
each stopping the command with one error and its fix, no traceback."""

import socket
import subprocess
import sys
import time
from pathlib import Path

import paramiko
import pytest
from conformance_servers import SshKeyServer
from examples import example_text
from loopback import serving

from prep_iac import preflight
from prep_iac.errors import PrepError
from prep_iac.inventory import load_inventory
from prep_iac.onhost.publisher.connect import fingerprint

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "inventories" / "example-difusor.yml"


def _ed25519(d: Path, name: str) -> paramiko.PKey:
    path = d / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-m", "PEM", "-f", str(path)],
                   check=True)
    return paramiko.Ed25519Key.from_private_key_file(str(path))


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed on exit: nothing listens there


def _inventory(tmp_path: Path, port: int, *, key: str | None = "admin",
               host_key: str | None = None) -> Path:
    if key and not (tmp_path / key).exists():
        _ed25519(tmp_path, key)
    text = example_text(EXAMPLE).replace("203.0.113.10", "127.0.0.1").replace(
        "ssh_port: 22", f"ssh_port: {port}").replace(
        "~/.ssh/id_ed25519", key or "missing-key")
    if host_key:
        text = text.replace("    ssh_key:", f"    host_key: {host_key}\n    ssh_key:", 1)
    path = tmp_path / "inv.yml"
    path.write_text(text)
    return path


@pytest.fixture
def server(tmp_path):
    key = _ed25519(tmp_path, "hk")
    srv = SshKeyServer(key)
    yield srv
    srv.close()


def test_a_missing_key_file_names_the_field_and_path(tmp_path, server):
    inv = load_inventory(_inventory(tmp_path, server.port, key=None))
    with pytest.raises(PrepError) as info:
        preflight.check(inv, ["difusor-1"])
    missing = str(tmp_path / "missing-key")
    assert f"difusor-1: ssh_key {missing} does not exist" in info.value.cause
    assert info.value.fix


def test_a_key_file_that_is_no_private_key_is_refused(tmp_path):
    (tmp_path / "admin").write_text("not a key\n")
    inv = load_inventory(_inventory(tmp_path, _closed_port()))
    with pytest.raises(PrepError, match=r"difusor-1: ssh_key .*admin is not a usable private key"):
        preflight.check(inv, ["difusor-1"])


def test_an_unreachable_host_is_named_within_the_timeout(tmp_path):
    inv = load_inventory(_inventory(tmp_path, _closed_port()))
    started = time.monotonic()
    with pytest.raises(PrepError) as info:
        preflight.check(inv, ["difusor-1"])
    assert time.monotonic() - started < preflight.CONNECT_TIMEOUT_S + 1
    assert "cannot reach SSH" in info.value.cause and "difusor-1: 127.0.0.1:" in info.value.cause
    warned = []
    assert preflight.check(inv, ["difusor-1"], warn=warned.append) == ["difusor-1"]
    assert warned and warned[0].startswith("difusor-1: cannot reach SSH")


def test_a_host_key_that_is_not_the_pin_shows_the_servers_fingerprint(tmp_path, server):
    other = _ed25519(tmp_path, "other")
    inv = load_inventory(_inventory(tmp_path, server.port,
                                    host_key=f"ssh-ed25519 {other.get_base64()}"))
    with pytest.raises(PrepError) as info:
        preflight.check(inv, ["difusor-1"])
    shown = fingerprint(server.key.asbytes())
    assert f"difusor-1 (127.0.0.1:{server.port}) shows host key ssh-ed25519 {shown}" \
        in info.value.cause
    assert fingerprint(other.asbytes()) in info.value.cause
    assert "ssh-keyscan" in info.value.fix


def test_a_server_without_a_key_of_the_pinned_type_stops_quietly(tmp_path, server, capfd):
    pin = "ecdsa-sha2-nistp256 " + paramiko.ECDSAKey.generate().get_base64()
    inv = load_inventory(_inventory(tmp_path, server.port, host_key=pin))
    with pytest.raises(PrepError, match="no SSH handshake asking for its pinned ecdsa"):
        preflight.check(inv, ["difusor-1"])
    assert "Traceback" not in capfd.readouterr().err


def test_the_pinned_host_key_passes(tmp_path, server):
    inv = load_inventory(_inventory(tmp_path, server.port,
                                    host_key=f"ssh-ed25519 {server.key.get_base64()}"))
    assert preflight.check(inv, ["difusor-1"]) == []


def test_publish_warns_about_a_difusor_that_is_down_and_stops_on_a_missing_key(tmp_path):
    from types import SimpleNamespace

    _ed25519(tmp_path, "id")
    difusor = SimpleNamespace(name="difusor-1", address="127.0.0.1", ssh_port=_closed_port())
    registry = SimpleNamespace(sftp_identity=str(tmp_path / "id"),
                               signing_key=str(tmp_path / "id"), difusores=[difusor])
    warned = []
    preflight.check_publish(registry, warned.append)
    assert len(warned) == 1 and warned[0].startswith("difusor-1: cannot reach SSH")
    registry.signing_key = str(tmp_path / "nope")
    with pytest.raises(PrepError, match=r"publisher: signing_key .*nope does not exist"):
        preflight.check_publish(registry, warned.append)


@pytest.mark.parametrize("key", [None, "admin"])
def test_deploy_stops_with_error_and_fix_and_no_traceback(tmp_path, key):
    inventory = _inventory(tmp_path, _closed_port(), key=key)
    proc = subprocess.run([sys.executable, "-c", "from prep_iac.cli import main; main()",
                           "deploy", "difusor", "-i", str(inventory), "-y"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error:") and "fix:" in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert ("does not exist" if key is None else "cannot reach SSH") in proc.stderr


def test_a_handshake_that_does_not_finish_is_the_hosts_problem_not_the_pins(tmp_path,
                                                                           monkeypatch):
    """A port that shows an SSH banner and then hangs (a host under load) is reported like an
    unreachable host (verify records it, deploy stops with "cannot reach"), never as a wrong
    host key."""
    def banner_only(conn):
        conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")  # then nothing: no key exchange
        return conn

    shown_key = preflight.shown_key
    monkeypatch.setattr(preflight, "shown_key", lambda t: shown_key(t, timeout=1.0))
    pin = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    with serving(banner_only, backlog=8) as port:
        inv = load_inventory(_inventory(tmp_path, port, host_key=pin))
        found = preflight.host_key_problem(preflight.targets(inv, ["difusor-1"])[0])
    assert found is not None and found[0] == "down", found
