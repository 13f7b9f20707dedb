"""pyinfra's SSH connections run with Nagle off once the inventory shim has loaded
(prep_iac/pyinfra_nodelay.py): a real pyinfra host connecting to an in-process paramiko SSH
server on loopback."""

import socket

import paramiko
import pytest
from loopback import serving
from pyinfra.api import Config, Inventory, State
from pyinfra.connectors.ssh import SSHConnector

from prep_iac import pyinfra_nodelay

USER = "admin"


class _Server(paramiko.ServerInterface):
    def __init__(self, user_key):
        self.user_key = user_key

    def get_allowed_auths(self, username):
        return "publickey"

    def check_auth_publickey(self, username, key):
        ok = username == USER and key.asbytes() == self.user_key.asbytes()
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED


@pytest.fixture
def ssh_server(tmp_path):
    """A listening SSH server that accepts one user key; yields pyinfra host data for it."""
    host_key, user_key = paramiko.ECDSAKey.generate(), paramiko.ECDSAKey.generate()
    key_file = tmp_path / "id_admin"
    user_key.write_private_key_file(str(key_file))

    def ssh_server(conn):
        t = paramiko.Transport(conn)
        t.add_server_key(host_key)
        t.start_server(server=_Server(user_key))
        return t

    with serving(ssh_server) as port:
        known = tmp_path / "known_hosts"
        known.write_text(f"[127.0.0.1]:{port} {host_key.get_name()} {host_key.get_base64()}\n")
        yield {"ssh_port": port, "ssh_user": USER, "ssh_key": str(key_file),
               "ssh_known_hosts_file": str(known), "ssh_strict_host_key_checking": "yes"}


def _unwrapped(monkeypatch):
    """pyinfra's own connect for this test (another test may have loaded the shim)."""
    original = getattr(SSHConnector._connect, "prep_original", SSHConnector._connect)
    monkeypatch.setattr(SSHConnector, "_connect", original)  # restored after the test
    return original


def _nodelay_after_connect(data) -> int:
    inventory = Inventory((["127.0.0.1"], data))
    State(inventory, Config())
    host = inventory.get_host("127.0.0.1")
    host.connect(raise_exceptions=True)
    try:
        sock = host.connector.client.get_transport().sock
        return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        host.disconnect()
        host.connector.client.close()


def test_pyinfra_connections_have_nagle_off_once_installed(ssh_server, monkeypatch):
    _unwrapped(monkeypatch)
    assert _nodelay_after_connect(ssh_server) == 0  # pyinfra's own default: Nagle on
    assert pyinfra_nodelay.install()
    assert _nodelay_after_connect(ssh_server) != 0


def test_install_wraps_once(monkeypatch):
    original = _unwrapped(monkeypatch)
    pyinfra_nodelay.install()
    wrapped = SSHConnector._connect
    assert wrapped is not original
    pyinfra_nodelay.install()
    assert SSHConnector._connect is wrapped


def test_set_nodelay_only_touches_tcp_sockets():
    tcp = socket.socket()
    unix_a, unix_b = socket.socketpair(socket.AF_UNIX)
    try:
        assert pyinfra_nodelay.set_nodelay(tcp)
        assert tcp.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        assert not pyinfra_nodelay.set_nodelay(unix_a)
        assert not pyinfra_nodelay.set_nodelay(None)
    finally:
        for s in (tcp, unix_a, unix_b):
            s.close()
