"""Local stand-ins for a difusor, on 127.0.0.1 only: an HTTP(S) server whose headers and
routes a test sets, a self-signed certificate, an SSH key-exchange-only server."""

from __future__ import annotations

import datetime as dt
import functools
import http.server
import ipaddress
import socket
import ssl
import threading
from pathlib import Path
from typing import ClassVar

import paramiko
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    extra_headers: ClassVar[dict] = {}
    routes: ClassVar[dict] = {}  # path -> (status, headers)

    def end_headers(self):
        for name, value in self.extra_headers.items():
            self.send_header(name, value)
        super().end_headers()

    def do_GET(self):
        if self.path in self.routes:
            status, headers = self.routes[self.path]
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()

    def version_string(self):
        return "nginx"

    def log_message(self, *args):
        pass


class Site:
    """A served directory; ``headers`` and ``routes`` are read on every request."""

    def __init__(self, root: Path, tls: ssl.SSLContext | None = None):
        self.root = root
        self.headers: dict = {}
        self.routes: dict = {}
        handler = type("H", (Handler,), {"extra_headers": self.headers, "routes": self.routes})
        self.server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(handler, directory=str(root)))
        if tls:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}/"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def self_signed(dir_: Path, names=("127.0.0.1",), days=90) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    sans = [x509.IPAddress(ipaddress.ip_address(n)) if n[0].isdigit() else x509.DNSName(n)
            for n in names]
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = dir_ / "cert.pem", dir_ / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def server_tls(cert: Path, key: Path, ciphers: str | None = None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    if ciphers:
        ctx.set_ciphers(ciphers)
    return ctx


class SshKeyServer:
    """Answers SSH key exchanges with ``key`` (no authentication ever succeeds)."""

    def __init__(self, key: paramiko.PKey):
        self.key = key
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.transports = []
        self.closed = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                self.sock.close()  # here, not in close(): no other server can get its fd
                return
            if self.closed:
                conn.close()
                self.sock.close()
                return
            transport = paramiko.Transport(conn)
            transport.add_server_key(self.key)
            self.transports.append(transport)
            try:
                transport.start_server(server=paramiko.ServerInterface())
            except (paramiko.SSHException, EOFError, OSError):
                pass

    def close(self):
        # Wake the accept() and let the thread close the socket: closing it here would free
        # its fd for the next server's socket while the thread may still accept() on it.
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        for t in self.transports:
            t.close()
