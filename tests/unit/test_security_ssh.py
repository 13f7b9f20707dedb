"""sshd crypto by OpenSSH version, host-key plan, drop-in, and the facts' parsers."""

import functools
import operator

import pytest

from prep_iac.components import ssh
from prep_iac.facts.sshd import SshHostKeys, SshSession, parse_openssh_version, parse_sshd_t


@pytest.mark.parametrize("text,version", [
    ("OpenSSH_9.2p1 Debian-2+deb12u3, OpenSSL 3.0.15 3 Sep 2024", (9, 2)),
    ("OpenSSH_10.0p2 Debian-7, OpenSSL 3.5.1 1 Jul 2025", (10, 0)),
    ("OpenSSH_8.9p1 Ubuntu-3ubuntu0.10, OpenSSL 3.0.2 15 Mar 2022", (8, 9)),
    ("bash: ssh: command not found", None),
])
def test_version_parse(text, version):
    assert parse_openssh_version(text) == version


def test_bookworm_crypto_has_no_names_it_does_not_know():
    c = ssh.crypto((9, 2))
    assert c["kex"][0] == "sntrup761x25519-sha512@openssh.com"
    assert "mlkem768x25519-sha256" not in c["kex"]
    assert "sntrup761x25519-sha512" not in c["kex"]  # the short alias came with 9.9


def test_trixie_crypto_prefers_ml_kem():
    c = ssh.crypto((10, 0))
    assert c["kex"][0] == "mlkem768x25519-sha256"
    assert "sntrup761x25519-sha512" in c["kex"]


@pytest.mark.parametrize("version", [(7, 4), (8, 4), (9, 2), (9, 9), (10, 0)])
def test_no_weak_algorithms(version):
    c = ssh.crypto(version)
    names = set(functools.reduce(operator.iadd, c.values(), []))
    assert not names & {"ssh-rsa", "ssh-dss", "ssh-rsa-cert-v01@openssh.com"}
    assert not [n for n in names for weak in ("sha1", "cbc", "3des", "arcfour", "md5",
                                              "group1-", "group14") if weak in n]
    assert all(m.endswith("-etm@openssh.com") for m in c["macs"])
    assert not any("ecdsa" in h for h in c["host_keys"])


def test_too_old_refused():
    with pytest.raises(ValueError, match="older than"):
        ssh.crypto((7, 3))


def test_host_key_plan():
    present = [{"path": "/etc/ssh/ssh_host_ecdsa_key", "bits": 256, "type": "ECDSA"},
               {"path": "/etc/ssh/ssh_host_rsa_key", "bits": 2048, "type": "RSA"},
               {"path": "/etc/ssh/ssh_host_dsa_key", "bits": 1024, "type": "DSA"},
               {"path": "/etc/ssh/ssh_host_ed25519_key", "bits": 256, "type": "ED25519"}]
    plan = ssh.host_key_plan(present, "ED25519")
    assert plan["remove"] == ["/etc/ssh/ssh_host_ecdsa_key", "/etc/ssh/ssh_host_dsa_key"]
    assert plan["regenerate"] == ["/etc/ssh/ssh_host_rsa_key"]
    # A pinned ECDSA key stays: the publisher would otherwise refuse the host.
    assert "/etc/ssh/ssh_host_ecdsa_key" in ssh.host_key_plan(present, "ECDSA")["keep"]


def test_dropin_contract():
    text = ssh.dropin((9, 2), ["/etc/ssh/ssh_host_ed25519_key"])
    lines = [line.strip() for line in text.splitlines()]
    for setting in ("AllowGroups prep-admins prep-sftp prep-lectura", "PermitRootLogin no",
                    "PasswordAuthentication no", "KbdInteractiveAuthentication no",
                    "LogLevel VERBOSE", "MaxAuthTries 3", "LoginGraceTime 30",
                    "AllowTcpForwarding no", "X11Forwarding no", "AllowAgentForwarding no",
                    "HostKey /etc/ssh/ssh_host_ed25519_key"):
        assert setting in lines
    assert ssh.DROPIN == "10-prep-hardening.conf"
    assert "PubkeyAcceptedAlgorithms" in text
    assert "PubkeyAcceptedKeyTypes" in ssh.dropin((8, 4), ["/etc/ssh/ssh_host_ed25519_key"])


def test_sshd_t_parse():
    settings = parse_sshd_t(["port 22", "hostkey /etc/ssh/a", "hostkey /etc/ssh/b",
                             "PermitRootLogin no"])
    assert settings["port"] == ["22"] and settings["hostkey"] == ["/etc/ssh/a", "/etc/ssh/b"]
    assert settings["permitrootlogin"] == ["no"]


def test_session_and_host_keys_parse():
    assert SshSession().process(["prepadmin|10.84.0.1 51234 10.84.0.11 22"]) == {
        "user": "prepadmin", "client": "10.84.0.1", "server": "10.84.0.11", "server_port": 22}
    assert SshSession().process(["root|"])["client"] is None
    keys = SshHostKeys().process([
        "/etc/ssh/ssh_host_rsa_key.pub 3072 SHA256:abc root@h (RSA)",
        "/etc/ssh/ssh_host_ed25519_key.pub 256 SHA256:def root@h (ED25519)"])
    assert keys == [{"path": "/etc/ssh/ssh_host_rsa_key", "bits": 3072, "type": "RSA"},
                    {"path": "/etc/ssh/ssh_host_ed25519_key", "bits": 256, "type": "ED25519"}]
