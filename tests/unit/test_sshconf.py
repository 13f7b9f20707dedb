"""The one writer of ssh_config blocks and known_hosts files."""

import os

from prep_iac import sshconf


def test_block_keeps_option_order_and_comment():
    text = sshconf.block(["a", "10.0.0.1"], {"HostName": "10.0.0.1", "Port": 22}, comment="a")
    assert text == "# a\nHost a 10.0.0.1\n  HostName 10.0.0.1\n  Port 22\n"
    assert sshconf.config([text, text]) == text + "\n" + text


def test_pinned_and_multiplexed_options(tmp_path):
    only = sshconf.pinned(tmp_path / "kh", only=True)
    assert list(only) == ["UserKnownHostsFile", "GlobalKnownHostsFile", "StrictHostKeyChecking"]
    assert "GlobalKnownHostsFile" not in sshconf.pinned(tmp_path / "kh")
    mux = sshconf.multiplexed(tmp_path, 120, connect_timeout=10, alive_interval=10)
    assert mux["ControlPath"] == f"{tmp_path}/%C" and mux["BatchMode"] == "yes"


def test_known_host_lines_drop_comments_and_bracket_other_ports():
    assert sshconf.known_host_lines(["d1", "10.0.0.1"], 22, ["ssh-ed25519 AAAA c"]) == [
        "d1,10.0.0.1 ssh-ed25519 AAAA"]
    assert sshconf.known_host_lines(["10.0.0.1"], 2222, ["ssh-ed25519 AAAA"]) == [
        "[10.0.0.1]:2222 ssh-ed25519 AAAA"]
    assert sshconf.text(["x", "y"]) == "x\ny\n" and sshconf.text([]) == ""


def test_write_is_atomic_and_leaves_an_unchanged_file_alone(tmp_path):
    target = tmp_path / "ssh_config"
    sshconf.write(target, "Host a\n")
    assert target.read_text() == "Host a\n" and oct(target.stat().st_mode & 0o777) == "0o600"
    before = target.stat().st_ino
    sshconf.write(target, "Host a\n")
    assert target.stat().st_ino == before  # same content: not rewritten
    sshconf.write(target, "Host b\n", mode=0o644)
    assert target.read_text() == "Host b\n" and oct(target.stat().st_mode & 0o777) == "0o644"
    assert os.listdir(tmp_path) == ["ssh_config"]  # no temp file left behind
