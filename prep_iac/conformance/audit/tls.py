"""TLS as a client sees it: protocol versions and ciphers offered (each probed with a context
pinned to it), and the certificate's validity and name. Standard library `ssl` only."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import warnings

from prep_iac.conformance.audit.common import Target, result
from prep_iac.conformance.audit.pacing import PACER
from prep_iac.conformance.model import CUMPLE, NO_CUMPLE, Command

VERSIONS = [("TLSv1", ssl.TLSVersion.TLSv1), ("TLSv1.1", ssl.TLSVersion.TLSv1_1),
            ("TLSv1.2", ssl.TLSVersion.TLSv1_2), ("TLSv1.3", ssl.TLSVersion.TLSv1_3)]
GOOD_VERSIONS = {"TLSv1.2", "TLSv1.3"}
MIN_DAYS_LEFT = 14
TIMEOUT_S = 5.0


def probe_context(version: ssl.TLSVersion | None = None, cipher: str | None = None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_ciphers(cipher or "ALL:COMPLEMENTOFALL:@SECLEVEL=0")
    if version is not None:
        with warnings.catch_warnings():
            # Probing TLS 1.0/1.1 is the point: the server must refuse them.
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ctx.maximum_version = version
    return ctx


def handshake(host: str, port: int, ctx: ssl.SSLContext, servername: str | None):
    """(True, (version, cipher)) or (False, why)."""
    PACER.wait()
    try:
        with socket.create_connection((host, port), timeout=TIMEOUT_S) as raw, \
                ctx.wrap_socket(raw, server_hostname=servername or None) as tls:
            return True, (tls.version(), tls.cipher()[0])
    except (ssl.SSLError, OSError) as exc:
        return False, f"{type(exc).__name__}: {exc}"


def _client_lacks(why: str) -> bool:
    """This machine's OpenSSL cannot speak the version at all: the probe proves nothing."""
    return "NO_PROTOCOLS_AVAILABLE" in why or "no protocols available" in why


def tls_endpoint(t: Target) -> tuple[str, int, str]:
    from urllib.parse import urlsplit

    parts = urlsplit(t.url)
    port = parts.port if t.https and parts.port else 443
    return parts.hostname, port, parts.hostname


def reachable(host: str, port: int) -> tuple[bool, str]:
    PACER.wait()
    try:
        with socket.create_connection((host, port), timeout=TIMEOUT_S):
            return True, "abierto"
    except OSError as exc:
        return False, str(exc)


def check(t: Target):
    host, port, name = tls_endpoint(t)
    ok, why = reachable(host, port)
    if not ok:
        detail = (f"sin HTTPS en {host}:{port} ({why}): cualquiera en el camino puede alterar "
                  "lo que los usuarios reciben")
        ev = [Command(f"conexión TCP a {host}:{port}", None, why)]
        return [result(t, c, NO_CUMPLE, detail, ev) for c in
                ("audit::tls_protocolos", "audit::tls_cifrados", "audit::tls_certificado")]
    return [protocols(t, host, port, name), ciphers(t, host, port, name),
            certificate(t, host, port, name)]


def protocols(t: Target, host: str, port: int, name: str):
    offered, lines, untestable = [], [], []
    for label, version in VERSIONS:
        try:
            ctx = probe_context(version)
        except (ssl.SSLError, ValueError) as exc:
            untestable.append(label)
            lines.append(f"{label}: no se puede probar desde aquí ({exc})")
            continue
        ok, info = handshake(host, port, ctx, name)
        if ok:
            offered.append(label)
            lines.append(f"{label}: aceptado ({info[1]})")
        elif _client_lacks(info):
            untestable.append(label)
            lines.append(f"{label}: este cliente no lo soporta; no probado")
        else:
            lines.append(f"{label}: rechazado")
    ev = [Command(f"handshake TLS a {host}:{port}, una versión a la vez", None, "\n".join(lines))]
    bad = [v for v in offered if v not in GOOD_VERSIONS]
    if bad:
        return result(t, "audit::tls_protocolos", NO_CUMPLE,
                      f"ofrece versiones obsoletas: {', '.join(bad)}", ev)
    if not offered:
        return result(t, "audit::tls_protocolos", NO_CUMPLE, "ninguna versión TLS aceptada", ev)
    note = f" (sin probar desde este cliente: {', '.join(untestable)})" if untestable else ""
    return result(t, "audit::tls_protocolos", CUMPLE, f"ofrece {', '.join(offered)}{note}", ev)


def candidate_ciphers() -> list[dict]:
    """TLS 1.2 suites this OpenSSL knows with certificate authentication or none at all."""
    ctx = probe_context(ssl.TLSVersion.TLSv1_2)
    return [c for c in ctx.get_ciphers() if c["protocol"] == "TLSv1.2"
            and c.get("auth") in ("auth-rsa", "auth-ecdsa", "auth-null")]


def weak(cipher: dict) -> str | None:
    if cipher.get("auth") == "auth-null":
        return "sin autenticación"
    if cipher.get("kea") not in ("kx-ecdhe", "kx-dhe"):
        return "sin secreto hacia adelante"
    if not cipher.get("aead"):
        return "no AEAD (CBC)"
    return None


def ciphers(t: Target, host: str, port: int, name: str):
    accepted, weak_ones = [], []
    for cipher in candidate_ciphers():
        try:
            ctx = probe_context(ssl.TLSVersion.TLSv1_2, cipher["name"])
        except ssl.SSLError:
            continue
        ok, _ = handshake(host, port, ctx, name)
        if ok:
            accepted.append(cipher["name"])
            why = weak(cipher)
            if why:
                weak_ones.append(f"{cipher['name']} ({why})")
    ok13, info13 = handshake(host, port, probe_context(ssl.TLSVersion.TLSv1_3), name)
    lines = [f"TLSv1.2 aceptados: {' '.join(accepted) or 'ninguno'}",
             f"TLSv1.3: {info13[1] if ok13 else 'no'}"]
    ev = [Command(f"handshake TLS 1.2 a {host}:{port}, un cifrado a la vez", None,
                  "\n".join(lines))]
    if weak_ones:
        return result(t, "audit::tls_cifrados", NO_CUMPLE,
                      f"acepta cifrados débiles: {', '.join(weak_ones)}", ev)
    return result(t, "audit::tls_cifrados", CUMPLE,
                  f"{len(accepted)} cifrados TLS 1.2, todos AEAD con secreto hacia adelante", ev)


def certificate(t: Target, host: str, port: int, name: str):
    ctx = t.context
    PACER.wait()
    try:
        with socket.create_connection((host, port), timeout=TIMEOUT_S) as raw, \
                ctx.wrap_socket(raw, server_hostname=name) as tls:
            cert = tls.getpeercert()
    except ssl.SSLCertVerificationError as exc:
        return result(t, "audit::tls_certificado", NO_CUMPLE,
                      f"certificado no válido para {name}: {exc.verify_message or exc}",
                      [Command(f"verificación TLS de {name} en {host}:{port}", None, str(exc))])
    except (ssl.SSLError, OSError) as exc:
        return result(t, "audit::tls_certificado", NO_CUMPLE, f"sin handshake TLS: {exc}",
                      [Command(f"verificación TLS de {name} en {host}:{port}", None, str(exc))])
    not_after = dt.datetime.fromtimestamp(ssl.cert_time_to_seconds(cert["notAfter"]),
                                          dt.UTC)
    days = (not_after - dt.datetime.now(dt.UTC)).days
    names = [v for k, v in cert.get("subjectAltName", ()) if k in ("DNS", "IP Address")]
    ev = [Command(f"verificación TLS de {name} en {host}:{port}", None,
                  f"nombres: {', '.join(names)}\nvence: {cert['notAfter']} ({days} días)\n"
                  f"emisor: {_dn(cert.get('issuer', ()))}")]
    if days < MIN_DAYS_LEFT:
        return result(t, "audit::tls_certificado", NO_CUMPLE,
                      f"el certificado vence en {days} días ({cert['notAfter']})", ev)
    return result(t, "audit::tls_certificado", CUMPLE,
                  f"válido para {name}, vence en {days} días", ev)


def _dn(rdns) -> str:
    return ", ".join(f"{k}={v}" for rdn in rdns for k, v in rdn)
