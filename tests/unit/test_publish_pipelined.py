"""The publisher's SFTP upload path (connect, pipelined, push) against an in-process paramiko
SFTP server on loopback: pinned host key, TCP_NODELAY, cipher order, pipelined uploads
(fallback write size, and the larger one a server states with limits@openssh.com), every
error answer surfacing, several sessions sharing one connection, prefetched JSON reads."""

import json
import os
import socket
import struct
import threading
import time
from pathlib import Path

import paramiko
import pytest
from loopback import serving
from paramiko.sftp import CMD_CLOSE, CMD_EXTENDED, CMD_EXTENDED_REPLY, SFTP_FAILURE, SFTP_OK

from prep_iac.onhost.publisher import connect, pipelined, push
from prep_iac.onhost.publisher.registry import DifusorEntry

USER = "iec"


class _Server(paramiko.ServerInterface):
    def __init__(self, user_key):
        self.user_key = user_key

    def get_allowed_auths(self, username):
        return "publickey"

    def check_auth_publickey(self, username, key):
        if username == USER and key.asbytes() == self.user_key.asbytes():
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_channel_request(self, kind, chanid):
        return paramiko.OPEN_SUCCEEDED if kind == "session" else \
            paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED


class _Handle(paramiko.SFTPHandle):
    def __init__(self, sftp, path, flags):
        super().__init__(flags)
        self.sftp, self.path = sftp, path
        self.writefile = open(path, "r+b" if os.path.exists(path) else "w+b")  # noqa: SIM115
        if flags & os.O_TRUNC:
            self.writefile.truncate(0)

    def write(self, offset, data):
        self.sftp.writes.append((self.path, len(data)))
        if Path(self.path).name in self.sftp.fail_write:
            return SFTP_FAILURE
        return super().write(offset, data)

    def stat(self):
        return paramiko.SFTPAttributes.from_stat(os.stat(self.path))


class _SFTP(paramiko.SFTPServerInterface):
    """A folder served as "/"; records every write's size."""

    def __init__(self, server, root, state):
        super().__init__(server)
        self.root = root
        self.state = state
        self.writes = state["writes"]
        self.fail_write = state["fail_write"]

    def _real(self, path):
        return os.path.join(self.root, self.canonicalize(path).lstrip("/"))

    def open(self, path, flags, attr):
        real = self._real(path)
        if not os.path.isdir(os.path.dirname(real)):
            return paramiko.SFTPServer.convert_errno(2)
        if flags & os.O_WRONLY or flags & os.O_RDWR:
            return _Handle(self, real, flags)
        try:
            h = paramiko.SFTPHandle(flags)
            h.readfile = open(real, "rb")  # noqa: SIM115
            h.stat = lambda: paramiko.SFTPAttributes.from_stat(os.stat(real))
            return h
        except OSError as exc:
            return paramiko.SFTPServer.convert_errno(exc.errno)

    def stat(self, path):
        try:
            return paramiko.SFTPAttributes.from_stat(os.stat(self._real(path)))
        except OSError as exc:
            return paramiko.SFTPServer.convert_errno(exc.errno)

    lstat = stat

    def mkdir(self, path, attr):
        try:
            os.mkdir(self._real(path))
        except OSError as exc:
            return paramiko.SFTPServer.convert_errno(exc.errno)
        return SFTP_OK


class _TestSFTPServer(paramiko.SFTPServer):
    """paramiko's SFTP server, plus OpenSSH's limits@openssh.com when the test asks for it,
    and a close that can fail (paramiko's own always answers OK)."""

    def _process(self, t, request_number, msg):
        state = self.server.state
        here = msg.packet.tell()
        if t == CMD_EXTENDED and state["limits"] and msg.get_text() == "limits@openssh.com":
            reply = paramiko.Message()
            reply.add_int(request_number)
            for value in (256 * 1024, 255 * 1024, 255 * 1024, 512):
                reply.add_int64(value)
            self._send_packet(CMD_EXTENDED_REPLY, reply)
            return
        if t == CMD_CLOSE:
            handle = self.file_table.get(msg.get_binary())
            if handle is not None and Path(handle.path).name in state["fail_close"]:
                self._send_status(request_number, SFTP_FAILURE, "close failed")
                return
        msg.packet.seek(here)
        super()._process(t, request_number, msg)


@pytest.fixture(scope="module")
def keys():
    return paramiko.ECDSAKey.generate(), paramiko.ECDSAKey.generate()


@pytest.fixture
def server(tmp_path, keys, request):
    """A listening SFTP server; yields (difusor entry, user key, root folder, state)."""
    host_key, user_key = keys
    root = tmp_path / "srv"
    root.mkdir()
    state = {"writes": [], "fail_write": set(), "fail_close": set(),
             "limits": getattr(request, "param", False)}

    def sftp_server(conn):
        t = paramiko.Transport(conn)
        t.add_server_key(host_key)
        t.set_subsystem_handler("sftp", _TestSFTPServer, _SFTP, str(root), state)
        t.start_server(server=_Server(user_key))
        return t

    with serving(sftp_server) as port:
        entry = DifusorEntry("difusor-t", "127.0.0.1", port,
                             f"{host_key.get_name()} {host_key.get_base64()}")
        yield entry, user_key, root, state


def _files(tmp_path, sizes):
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    out = []
    for i, size in enumerate(sizes):
        p = src / f"f{i:03d}.bin"
        p.write_bytes(os.urandom(size))
        out.append(p)
    return out


def test_write_size_fills_whole_ssh_packets():
    room = 32 * 1024 - 64  # what paramiko puts in one packet of OpenSSH's 32 KiB maximum
    # No stated limit: at most 32 KiB, and the whole request in one packet (not 32 KiB + 29).
    size = pipelined.write_size(None, room, 4)
    assert size + pipelined.WRITE_HEADER + 4 == room
    # OpenSSH's limit (255 KiB): several whole packets, never above the limit.
    size = pipelined.write_size(255 * 1024, room, 4)
    assert size <= 255 * 1024
    assert (size + pipelined.WRITE_HEADER + 4) % room == 0
    # A server's small limit is obeyed even when it does not fill a packet.
    assert pipelined.write_size(1000, room, 4) == 1000
    # Our own ceiling holds whatever the server states.
    assert pipelined.write_size(16 * 1024 * 1024, room, 4) <= pipelined.MAX_WRITE
    # A longer handle takes its room from the data.
    assert pipelined.write_size(None, room, 200) == room - pipelined.WRITE_HEADER - 200


def test_cipher_and_mac_preference_only_reorders():
    t = paramiko.Transport(socket.socket())
    try:
        opts = t.get_security_options()
        before_c, before_m = list(opts.ciphers), list(opts.digests)
        opts.ciphers = connect.prefer(opts.ciphers, connect.PREFERRED_CIPHERS)
        opts.digests = connect.prefer(opts.digests, connect.PREFERRED_MACS)
        assert sorted(opts.ciphers) == sorted(before_c)
        assert sorted(opts.digests) == sorted(before_m)
        fast = [c for c in connect.PREFERRED_CIPHERS if c in before_c]
        assert list(opts.ciphers[:len(fast)]) == fast
        assert opts.digests[0] == "hmac-sha2-256-etm@openssh.com"
    finally:
        t.close()
    assert connect.prefer(["a", "b", "c"], ["c", "x", "a"]) == ["c", "a", "b"]


def test_connect_pins_the_key_and_turns_nagle_off(server):
    entry, user_key, _, _ = server
    t = connect.connect(entry, USER, user_key, timeout=10)
    try:
        assert t.is_authenticated()
        assert t.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        if "aes128-gcm@openssh.com" in t.get_security_options().ciphers:
            assert t.local_cipher == "aes128-gcm@openssh.com"
    finally:
        t.close()
    other = paramiko.ECDSAKey.generate()
    wrong = DifusorEntry(entry.name, entry.address, entry.ssh_port,
                         f"{other.get_name()} {other.get_base64()}")
    with pytest.raises(connect.HostKeyMismatch):
        connect.connect(wrong, USER, user_key, timeout=10)


@pytest.mark.parametrize("server", [False, True], indirect=True, ids=["no-limits", "limits"])
def test_upload_sends_every_file_whole_and_checks_every_answer(server, tmp_path):
    entry, user_key, root, state = server
    sizes = [0, 1, 1000, 32 * 1024, 32 * 1024 + 1, 100 * 1024, 300 * 1024] * 3
    files = _files(tmp_path, sizes)
    (root / "in").mkdir()
    t = connect.connect(entry, USER, user_key, timeout=10)
    try:
        client = connect.sftp(t, 10)
        up = pipelined.Uploader(client, depth=4)  # fewer than the files: opens refilled
        confirmed = []
        sent = up.upload([(p, f"/in/{p.name}") for p in files], on_file=confirmed.append)
        assert sent == sum(sizes)
        assert sorted(confirmed) == sorted(sizes)
        assert not up.unchecked and not up.answers.got
        for p in files:
            assert (root / "in" / p.name).read_bytes() == p.read_bytes()
        biggest = max(n for _, n in state["writes"])
        if state["limits"]:
            assert up.max_write == 255 * 1024
            assert 32 * 1024 < biggest <= 255 * 1024
        else:
            assert up.max_write is None
            assert biggest < 32 * 1024
        # the channel is still usable for ordinary requests afterwards
        assert client.stat("/in").st_mode
    finally:
        t.close()


def test_upload_takes_bytes_and_asks_the_server_limit_once_per_channel(server, monkeypatch):
    entry, user_key, root, _state = server
    (root / "in").mkdir()
    manifest = os.urandom(100 * 1024)  # several writes
    t = connect.connect(entry, USER, user_key, timeout=10)
    try:
        client = connect.sftp(t, 10)
        asked = []
        real = pipelined.server_max_write
        monkeypatch.setattr(pipelined, "server_max_write", lambda c: asked.append(c) or real(c))
        sent = pipelined.Uploader(client).upload([(manifest, "/in/m.json"),
                                                  (b"", "/in/empty"), (b"n\n", "/in/.x")])
        pipelined.Uploader(client).upload([(b"again", "/in/again")])
        assert sent == len(manifest) + 2
        assert (root / "in/m.json").read_bytes() == manifest
        assert (root / "in/empty").read_bytes() == b""
        assert (root / "in/.x").read_bytes() == b"n\n"
        assert (root / "in/again").read_bytes() == b"again"
        assert asked == [client]
    finally:
        t.close()


@pytest.mark.parametrize("failing", ["open", "write", "close"])
def test_upload_raises_on_a_refused_request(server, tmp_path, failing):
    entry, user_key, root, state = server
    files = _files(tmp_path, [5000] * 6)
    (root / "in").mkdir()
    items = [(p, f"/in/{p.name}") for p in files]
    if failing == "open":
        items[3] = (files[3], "/missing/f.bin")
    elif failing == "write":
        state["fail_write"].add(files[4].name)
    else:
        state["fail_close"].add(files[5].name)
    t = connect.connect(entry, USER, user_key, timeout=10)
    try:
        with pytest.raises(OSError, match=failing):
            pipelined.Uploader(connect.sftp(t, 10), depth=2).upload(items)
    finally:
        t.close()


@pytest.mark.parametrize("sessions", [1, 3])
def test_upload_many_shares_the_work_and_keeps_the_push_channel(server, tmp_path, sessions,
                                                                 monkeypatch):
    entry, user_key, root, _ = server
    monkeypatch.setattr(pipelined, "BATCH", 5)
    sizes = [(i * 7919) % 70000 for i in range(40)]
    files = _files(tmp_path, sizes)
    (root / "cut").mkdir()
    entries = [type("E", (), {"path": p.name}) for p in files]
    counter = {"bytes": 0, "files": 0, "lock": threading.Lock()}
    t = connect.connect(entry, USER, user_key, timeout=10)
    try:
        client = connect.sftp(t, 10)
        push.upload_many(t, entries, files[0].parent, "/cut", sessions, 10, counter,
                         threading.Event(), client)
        assert counter == {**counter, "bytes": sum(sizes), "files": len(files)}
        for p in files:
            assert (root / "cut" / p.name).read_bytes() == p.read_bytes()
        assert client.stat("/cut").st_mode  # the push's own channel stays open
    finally:
        t.close()


def test_upload_many_reports_a_failure(server, tmp_path):
    entry, user_key, root, state = server
    files = _files(tmp_path, [3000] * 10)
    (root / "cut").mkdir()
    state["fail_write"].add(files[7].name)
    entries = [type("E", (), {"path": p.name}) for p in files]
    counter = {"bytes": 0, "files": 0, "lock": threading.Lock()}
    t = connect.connect(entry, USER, user_key, timeout=10)
    try:
        with pytest.raises(connect.PushError, match="upload failed"):
            push.upload_many(t, entries, files[0].parent, "/cut", 2, 10, counter,
                             threading.Event(), connect.sftp(t, 10))
        assert counter["files"] < len(files)
    finally:
        t.close()


def test_read_json_prefetches_a_large_file_and_tolerates_a_missing_one(server):
    entry, user_key, root, _ = server
    (root / "estado").mkdir()
    data = {"corte": "x", "archivos": [{"ruta": f"a/{i}.jpg", "bytes": i} for i in range(5000)]}
    (root / "estado" / "manifiesto.json").write_text(json.dumps(data))
    assert (root / "estado" / "manifiesto.json").stat().st_size > 32 * 1024
    (root / "estado" / "ultimo.json").write_text('{"corte": "y"}')
    t = connect.connect(entry, USER, user_key, timeout=10)
    try:
        client = connect.sftp(t, 10)
        start = time.monotonic()
        assert push.read_json(client, "/estado/manifiesto.json") == data
        assert time.monotonic() - start < 5
        assert push.read_json(client, "/estado/ultimo.json") == {"corte": "y"}
        assert push.read_json(client, "/estado/nada.json") is None
    finally:
        t.close()


def test_write_header_matches_paramiko_framing():
    # length, type, request id, handle (4 + len), offset, data length: what _send_packet sends
    handle = b"abcd"
    msg = paramiko.Message()
    msg.add_int(7)
    msg.add_string(handle)
    msg.add_int64(0)
    msg.add_string(b"")
    framed = struct.pack(">I", len(msg.asbytes()) + 1) + b"\x06" + msg.asbytes()
    assert len(framed) == pipelined.WRITE_HEADER + len(handle)


def test_upload_keeps_the_unanswered_writes_under_the_cap(server, tmp_path):
    entry, user_key, root, _ = server
    sizes = [70000, 5, 200000, 1000, 64000] * 4  # some writes larger than the cap
    files = _files(tmp_path, sizes)
    (root / "in").mkdir()
    t = connect.connect(entry, USER, user_key, timeout=10)
    try:
        up = pipelined.Uploader(connect.sftp(t, 10), in_flight=50000)
        most = []
        send = up._send

        def spy(kind, *args):
            most.append(up.unanswered)
            return send(kind, *args)

        up._send = spy
        assert up.upload([(p, f"/in/{p.name}") for p in files]) == sum(sizes)
        write = pipelined.write_size(None, up.packet_room, 4)
        assert max(most) <= 50000 + write
        assert up.unanswered == 0
        for p in files:
            assert (root / "in" / p.name).read_bytes() == p.read_bytes()
    finally:
        t.close()


@pytest.mark.parametrize("size", [10, push.READ_HEAD - 1, push.READ_HEAD, push.READ_HEAD + 1,
                                  5 * push.READ_HEAD + 7])
def test_read_json_at_the_edges_of_the_first_read(server, size):
    entry, user_key, root, _ = server
    (root / "estado").mkdir()
    text = '{"x": "' + "a" * (size - 9) + '"}'
    assert len(text) == size
    (root / "estado" / "f.json").write_text(text)
    t = connect.connect(entry, USER, user_key, timeout=10)
    try:
        assert push.read_json(connect.sftp(t, 10), "/estado/f.json") == json.loads(text)
    finally:
        t.close()
