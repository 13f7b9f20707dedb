"""A TCP server on loopback for tests that need a real peer (an SSH banner, an SFTP server)."""

import socket
import threading
from contextlib import contextmanager


@contextmanager
def serving(handle, backlog: int = 4):
    """Accept connections on 127.0.0.1 in a daemon thread, each passed to `handle(conn)`,
    until the block ends; yields the port. What `handle` returns (a paramiko transport, the
    socket itself) is closed at the end."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(backlog)
    held = []

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            try:
                held.append(handle(conn))
            except OSError:  # the client gave up first (a test's short timeout)
                conn.close()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()
        for thing in held:
            thing.close()
