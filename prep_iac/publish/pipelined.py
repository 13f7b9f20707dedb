"""Upload many files over one SFTP channel without waiting for each one.

paramiko's `open()`/`close()` wait for the server's answer: three round trips per file,
which, multiplied by thousands of small files, dominates a push (worse on a busy host, where
every wake-up is late). Here a batch of files is opened with all requests in flight at once,
written and closed likewise, and the answers are collected afterwards: a few round trips per
batch. Uses SFTPClient's request/response plumbing (stable from paramiko 2.12 to 4).
"""

import errno

from paramiko.sftp import (
    CMD_CLOSE,
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

CHUNK = 32 * 1024  # the SFTP write size servers take without splitting
BATCH = 64
OPEN_FLAGS = SFTP_FLAG_WRITE | SFTP_FLAG_CREATE | SFTP_FLAG_TRUNC


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


class Uploader:
    def __init__(self, client):
        self.client = client
        self.answers = _Answers()  # strong reference: SFTPClient keeps only a weak one

    def _send(self, t, *args):
        return self.client._async_request(self.answers, t, *args)

    def _wait(self, nums):
        while any(n not in self.answers.got for n in nums):
            self.client._read_response()
        return [self.answers.got.pop(n) for n in nums]

    def _drain_ready(self):
        while self.client.sock.recv_ready():
            self.client._read_response()

    def batch(self, items):
        """items: [(local path, remote path)]; returns bytes sent. Raises OSError."""
        opens = [self._send(CMD_OPEN, remote, OPEN_FLAGS, SFTPAttributes())
                 for _, remote in items]
        handles = []
        for (_, remote), (t, msg) in zip(items, self._wait(opens)):
            if t == CMD_HANDLE:
                handles.append(msg.get_binary())
            elif t == CMD_STATUS:
                raise _status_error(msg, f"open {remote}") or OSError(f"open {remote}")
            else:
                raise OSError(f"open {remote}: unexpected SFTP answer {t}")
        sent, pending = 0, []
        for (local, remote), handle in zip(items, handles):
            with open(local, "rb") as f:
                offset = 0
                while chunk := f.read(CHUNK):
                    pending.append((self._send(CMD_WRITE, handle, int64(offset), chunk), remote))
                    offset += len(chunk)
            sent += offset
            pending.append((self._send(CMD_CLOSE, handle), remote))
            self._drain_ready()  # keep the server's answers from piling up
        for (num, remote), (t, msg) in zip(pending, self._wait([n for n, _ in pending])):
            if t != CMD_STATUS:
                raise OSError(f"{remote}: unexpected SFTP answer {t}")
            err = _status_error(msg, f"write {remote}")
            if err:
                raise err
        return sent
