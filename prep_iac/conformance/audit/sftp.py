"""CONV-II.a.1 from outside: the SFTP endpoint's host key is the one the IEC registered
(no login: the key exchange alone shows the key)."""

from __future__ import annotations

import base64
import hashlib
import socket

import paramiko

from prep_iac.conformance.audit.common import Target, result
from prep_iac.conformance.audit.pacing import PACER
from prep_iac.conformance.model import CUMPLE, MANUAL, NO_CUMPLE, Command

TIMEOUT_S = 10.0


def fingerprint(blob: bytes) -> str:
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def remote_key(host: str, port: int, key_type: str | None) -> tuple[str, bytes]:
    """(type, blob) of the server's host key; asks for ``key_type`` when one is pinned."""
    PACER.wait()
    sock = socket.create_connection((host, port), timeout=TIMEOUT_S)
    transport = paramiko.Transport(sock)
    try:
        if key_type:
            options = transport.get_security_options()
            if key_type in options.key_types:
                options.key_types = [key_type]
        transport.start_client(timeout=TIMEOUT_S)
        key = transport.get_remote_server_key()
        return key.get_name(), key.asbytes()
    finally:
        transport.close()
        sock.close()


def check(t: Target):
    if not t.ssh:
        return [result(t, "audit::sftp_clave_host", MANUAL,
                       "sin --ssh HOST:PUERTO: la clave de host del SFTP no se comprobó")]
    host, port = t.ssh
    pinned_type, pinned_blob = (t.host_key.split()[:2] if t.host_key else (None, None))
    try:
        kind, blob = remote_key(host, port, pinned_type)
    except (OSError, paramiko.SSHException, EOFError) as exc:
        return [result(t, "audit::sftp_clave_host", NO_CUMPLE,
                       f"el SFTP en {host}:{port} no respondió: {exc}",
                       [Command(f"intercambio de claves SSH con {host}:{port}", None, str(exc))])]
    seen = f"{kind} {fingerprint(blob)}"
    ev = [Command(f"intercambio de claves SSH con {host}:{port} (sin autenticarse)", None, seen)]
    if not pinned_blob:
        return [result(t, "audit::sftp_clave_host", MANUAL,
                       f"clave presentada {seen}; sin clave registrada con qué compararla "
                       "(dé -i REGISTRO)", ev)]
    want = f"{pinned_type} {fingerprint(base64.b64decode(pinned_blob))}"
    ev.append(Command("clave registrada en el inventario", None, want))
    if blob != base64.b64decode(pinned_blob):
        return [result(t, "audit::sftp_clave_host", NO_CUMPLE,
                       f"la clave de host presentada ({seen}) no es la registrada ({want})", ev)]
    return [result(t, "audit::sftp_clave_host", CUMPLE, f"clave de host registrada: {want}", ev)]
