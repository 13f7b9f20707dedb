"""Upload many files over one SFTP channel without waiting for each one.

paramiko's `open()`/`close()` wait for the server's answer: three round trips per file,
which, multiplied by thousands of small files, dominates a push (worse on a busy host, where
every wake-up is late). Here the opens run up to BATCH files ahead of the file being written,
every write and close is sent without waiting, and the answers are checked as they arrive
(all of them before `upload` returns): the channel never idles between files. Writes are as
large as the server allows (OpenSSH states its limit, limits@openssh.com) and sized to fill
whole SSH packets. Uses SFTPClient's request/response plumbing (stable from paramiko 2.12
to 4).
"""

import errno
import io
import weakref
from collections import deque

from paramiko.sftp import (
    CMD_CLOSE,
    CMD_EXTENDED,
    CMD_EXTENDED_REPLY,
    CMD_HANDLE,
    CMD_OPEN,
    CMD_STATUS,
    CMD_WRITE,
    SFTP_FLAG_CREATE,
    SFTP_FLAG_TRUNC,
    SFTP_FLAG_WRITE,
    SFTP_OK,
)
from paramiko.sftp_attr import SFTPAttributes

try:
    from paramiko.sftp import int64
except ImportError:  # paramiko 2.x (Debian 12): the 64-bit int marker is py3compat.long
    from paramiko.py3compat import long as int64

CHUNK = 32 * 1024  # the largest write every SFTP server takes (the draft's minimum)
MAX_WRITE = 256 * 1024  # our ceiling, even when the server states a larger limit
BATCH = 64
# Write data sent and not yet answered, per channel. Enough to keep the channel busy
# between answers; more only queues up in the server's sshd (up to its 2 MiB window), whose
# buffers then cost it far more CPU per byte (measured: twice the difusor's CPU at 64
# files of 100 KiB in flight than at 4).
IN_FLIGHT = 512 * 1024
OPEN_FLAGS = SFTP_FLAG_WRITE | SFTP_FLAG_CREATE | SFTP_FLAG_TRUNC
# An SFTP write on the wire: length 4, type 1, request id 4, handle 4 + len, offset 8, data 4.
WRITE_HEADER = 25
# paramiko's Channel.send puts at most the peer's max packet size less 64 in one SSH packet.
CHANNEL_MARGIN = 64


def server_max_write(client) -> int | None:
    """The server's own limit on a write's data (OpenSSH >= 8.6: limits@openssh.com), or
    None when it states none (then CHUNK, which every server takes)."""
    try:
        t, msg = client._request(CMD_EXTENDED, "limits@openssh.com")
    except OSError:  # SSH_FX_OP_UNSUPPORTED: an older or another server
        return None
    if t != CMD_EXTENDED_REPLY:
        return None
    msg.get_int64()  # max packet length
    msg.get_int64()  # max read length
    max_write = msg.get_int64()
    return max_write or None


_MAX_WRITE_OF = weakref.WeakKeyDictionary()  # SFTPClient -> its server's limit (or None)


def _known_max_write(client):
    """server_max_write, asked once per channel (each Uploader on it would ask again)."""
    try:
        return _MAX_WRITE_OF[client]
    except KeyError:
        limit = _MAX_WRITE_OF[client] = server_max_write(client)
        return limit
    except TypeError:  # not weak-referenceable (a test double): just ask
        return server_max_write(client)


def write_size(max_write: int | None, packet_room: int, handle_len: int) -> int:
    """Data bytes per write: as large as the server allows (fewer requests and answers),
    and sized so that the write fills whole SSH packets (`packet_room` bytes each):
    a write of exactly 32 KiB would otherwise cost a second, nearly empty packet."""
    limit = min(max_write or CHUNK, MAX_WRITE)
    overhead = WRITE_HEADER + handle_len
    if packet_room <= overhead:
        return limit
    packets = max(1, (limit + overhead) // packet_room)
    return max(1, min(limit, packets * packet_room - overhead))


class _Answers:
    """Where SFTPClient delivers the answers to our requests (by request number)."""

    def __init__(self):
        self.got = {}

    def _async_response(self, t, msg, num):
        self.got[num] = (t, msg)


def _status_error(msg, what):
    code = msg.get_int()
    text = msg.get_text()
    if code == SFTP_OK:
        return None
    return OSError(errno.EIO, f"{what}: {text} (SFTP status {code})")


def _source(local):
    """A file to read from: the local file, or the bytes themselves."""
    return io.BytesIO(local) if isinstance(local, bytes) else open(local, "rb")


class Uploader:
    def __init__(self, client, depth=BATCH, in_flight=IN_FLIGHT):
        self.client = client
        self.depth = depth  # files opened ahead of the one being written
        self.in_flight = in_flight  # bytes of writes sent and not answered, at most
        self.unanswered = 0
        self.answers = _Answers()  # strong reference: SFTPClient keeps only a weak one
        self.max_write = _known_max_write(client)
        max_packet = getattr(client.sock, "out_max_packet_size", 0) or 32 * 1024
        self.packet_room = max_packet - CHANNEL_MARGIN
        # request number -> (remote path, bytes written if a close, bytes if a write)
        self.unchecked = {}
        self.on_file = None

    def _send(self, t, *args):
        return self.client._async_request(self.answers, t, *args)

    def _wait(self, num):
        while num not in self.answers.got:
            self.client._read_response()
        return self.answers.got.pop(num)

    def _check(self):
        """Every write's and close's answer that has arrived: OSError on the first failure."""
        got = self.answers.got
        for num in [n for n in self.unchecked if n in got]:
            remote, closed, size = self.unchecked.pop(num)
            self.unanswered -= size
            t, msg = got.pop(num)
            if t != CMD_STATUS:
                raise OSError(f"{remote}: unexpected SFTP answer {t}")
            err = _status_error(msg, f"{'close' if closed is not None else 'write'} {remote}")
            if err:
                raise err
            if closed is not None and self.on_file:
                self.on_file(closed)

    def _drain_ready(self):
        while self.client.sock.recv_ready():
            self.client._read_response()
        self._check()

    def upload(self, items, on_file=None):
        """items: iterable of (local path or bytes, remote path); returns bytes sent.
        Raises OSError.

        The opens run `depth` files ahead: while one file's writes go out, the next files'
        handles are already on their way back, so the channel never waits for an answer
        between files; every answer is checked as it comes, and all of them before this
        returns. on_file(bytes) is called for each file whose close the server confirmed."""
        self.on_file = on_file
        items = iter(items)
        opening = deque()  # (request number, local, remote), in order
        sent = 0

        def refill():
            while len(opening) < self.depth:
                item = next(items, None)
                if item is None:
                    return
                local, remote = item
                opening.append((self._send(CMD_OPEN, remote, OPEN_FLAGS, SFTPAttributes()),
                                local, remote))

        refill()
        while opening:
            num, local, remote = opening.popleft()
            t, msg = self._wait(num)
            if t == CMD_STATUS:
                raise _status_error(msg, f"open {remote}") or OSError(f"open {remote}")
            if t != CMD_HANDLE:
                raise OSError(f"open {remote}: unexpected SFTP answer {t}")
            handle = msg.get_binary()
            size = write_size(self.max_write, self.packet_room, len(handle))
            with _source(local) as f:
                offset = 0
                while chunk := f.read(size):
                    while self.unanswered and self.unanswered + len(chunk) > self.in_flight:
                        self._wait_any()
                    num = self._send(CMD_WRITE, handle, int64(offset), chunk)
                    self.unchecked[num] = (remote, None, len(chunk))
                    self.unanswered += len(chunk)
                    offset += len(chunk)
            self.unchecked[self._send(CMD_CLOSE, handle)] = (remote, offset, 0)
            sent += offset
            refill()
            self._drain_ready()  # keep the server's answers from piling up
        while self.unchecked:
            self._wait_any()
        return sent

    def _wait_any(self):
        num = next(iter(self.unchecked))
        if num not in self.answers.got:
            self.client._read_response()
        self._check()
