"""tls mode 'files': the certificate must match its key and cover every server name; tls mode
'acme' with an `acme_ca`: that file must hold a CA certificate."""

import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from prep_iac.inventory.messages import Problem
from prep_iac.inventory.schema import Inventory
from prep_iac.inventory.yamlfile import YamlDocument


def tls_problems(inventory: Inventory, doc: YamlDocument) -> list[Problem]:
    out = []
    for name, difusor in inventory.difusores.items():
        tls = difusor.tls
        if not tls or tls.mode == "lab-ca" or (tls.mode == "acme" and not tls.acme_ca):
            continue
        loc = ("difusores", name, "tls")
        what = (check_pair(tls.cert, tls.key, difusor.server_names) if tls.mode == "files"
                else check_ca(tls.acme_ca))
        if what:
            out.append(Problem(str(doc.path), doc.line_of(loc), f"difusores.{name}.tls", what))
    return out


def check_pair(cert_path: str, key_path: str, names: list[str]) -> str | None:
    """What is wrong with a certificate/key pair for these names, or None."""
    try:
        cert = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
    except FileNotFoundError:
        return f"certificate {cert_path} does not exist"
    except ValueError:
        return f"{cert_path} is not a PEM certificate"
    try:
        key = serialization.load_pem_private_key(Path(key_path).read_bytes(), password=None)
    except FileNotFoundError:
        return f"key {key_path} does not exist"
    except (ValueError, TypeError):
        return f"{key_path} is not an unencrypted PEM private key"
    if _public_bytes(key.public_key()) != _public_bytes(cert.public_key()):
        return f"certificate {cert_path} does not match key {key_path}"
    missing = [n for n in names if not _covers(cert, n)]
    if missing:
        return f"certificate {cert_path} does not cover {', '.join(missing)}"
    return None


def check_ca(path: str) -> str | None:
    """What is wrong with a CA file certbot is to trust, or None."""
    try:
        certs = x509.load_pem_x509_certificates(Path(path).read_bytes())
    except FileNotFoundError:
        return f"acme_ca {path} does not exist"
    except (OSError, ValueError):
        return f"acme_ca {path} is not a PEM certificate"
    for cert in certs:
        try:
            if cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
                return None
        except x509.ExtensionNotFound:
            pass
    return f"acme_ca {path} holds no CA certificate (give the CA that signed the ACME server's)"


def _public_bytes(public_key) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)


def _covers(cert: x509.Certificate, name: str) -> bool:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    for dns in san.get_values_for_type(x509.DNSName):
        dns = dns.lower()
        if dns == name or (dns.startswith("*.") and name.split(".", 1)[-1] == dns[2:]):
            return True
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        return False
    return ip in san.get_values_for_type(x509.IPAddress)
