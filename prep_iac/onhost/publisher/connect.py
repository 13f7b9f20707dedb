"""SSH to a difusor's jail with paramiko: pinned host key, IEC key, bounded timeouts.

Works with Debian 12's paramiko (2.12) and current releases alike. No known_hosts, no
trust on first use: the inventory's `host_key` is the only key accepted.
"""

import base64
import hashlib
import socket

import paramiko

from prep_iac.onhost.publisher.registry import DifusorEntry

# Fastest first, among what the difusor's hardened sshd allows (components/ssh.py): AES-GCM
# encrypts and authenticates in one pass (paramiko >= 3.3; Debian 12's 2.12 lacks it and
# takes AES-CTR), and encrypt-then-MAC before the plain MACs of paramiko's own order.
# Only the order changes: what each side accepts is untouched.
PREFERRED_CIPHERS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "aes128-ctr",
                     "aes256-ctr")
PREFERRED_MACS = ("hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com")


def prefer(available, first) -> list[str]:
    """`available` (paramiko's order) with those of `first` it has moved to the front."""
    head = [name for name in first if name in available]
    return head + [name for name in available if name not in head]


class PushError(Exception):
    """A push that could not be done; the message is the reason the ledger records."""


class HostKeyMismatch(PushError):
    pass


def fingerprint(blob: bytes) -> str:
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def load_private_key(path: str) -> paramiko.PKey:
    errors = []
    for cls in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return cls.from_private_key_file(path)
        except (paramiko.SSHException, ValueError) as exc:
            errors.append(f"{cls.__name__}: {exc}")
        except OSError as exc:
            raise PushError(f"cannot read the SFTP identity {path}: {exc.strerror}") from None
    raise PushError(f"{path} is not a usable private key ({'; '.join(errors)})")


def connect(difusor: DifusorEntry, user: str, key: paramiko.PKey,
            timeout: float = 10.0, connect_timeout: float | None = None) -> paramiko.Transport:
    """An authenticated transport to the difusor's jail, or PushError saying why not.
    `connect_timeout` bounds the TCP connect alone (what a host that is down costs);
    `timeout` bounds the SSH handshake."""
    kind, blob64 = difusor.host_key.split()[:2]
    pinned = base64.b64decode(blob64)
    try:
        sock = socket.create_connection((difusor.address, difusor.ssh_port),
                                        timeout=connect_timeout or timeout)
    except OSError as exc:
        raise PushError(f"cannot connect to {difusor.address}:{difusor.ssh_port}: "
                        f"{exc.strerror or exc}") from None
    # paramiko leaves Nagle on: each small request sent while the previous one is not yet
    # acknowledged waits for the server's delayed ACK (40 ms on Linux); every round trip of
    # the handshake, the delta's reads and the last writes of a file would pay it.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    transport = paramiko.Transport(sock)
    transport.banner_timeout = timeout
    transport.auth_timeout = timeout
    # Ask only for the pinned key's type, so the server shows the key we can check.
    options = transport.get_security_options()
    options.key_types = [kind]
    options.ciphers = prefer(options.ciphers, PREFERRED_CIPHERS)
    options.digests = prefer(options.digests, PREFERRED_MACS)
    try:
        transport.start_client(timeout=timeout)
        got = transport.get_remote_server_key()
        if got.get_name() != kind or got.asbytes() != pinned:
            raise HostKeyMismatch(
                f"host key mismatch for {difusor.name} ({difusor.address}): it shows "
                f"{got.get_name()} {fingerprint(got.asbytes())}, the inventory pins {kind} "
                f"{fingerprint(pinned)}; refusing to push (check the difusor, then the "
                "inventory's host_key)")
        transport.auth_publickey(user, key)
    except PushError:
        transport.close()
        raise
    except (paramiko.SSHException, OSError, EOFError) as exc:
        transport.close()
        raise PushError(f"SSH to {difusor.address} failed: {exc or type(exc).__name__}") from None
    return transport


def sftp(transport: paramiko.Transport, timeout: float) -> paramiko.SFTPClient:
    client = paramiko.SFTPClient.from_transport(transport)
    client.get_channel().settimeout(timeout)
    return client
