"""The lab's certificate authority (tls mode `lab-ca`): a local CA on the controller, one
per inventory, kept beside it (`inventories/lab.yml` -> `inventories/lab.lab-ca/`), that
signs each lab host's certificate. Tests and browsers trust its ca.pem.
"""

import datetime as dt
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
CERT_DAYS = 397
RENEW_BEFORE = dt.timedelta(days=30)


def ca_dir(inventory_path: Path) -> Path:
    """`inventories/lab.yml` -> `inventories/lab.lab-ca/`: beside the inventory it serves."""
    inventory_path = Path(inventory_path)
    return inventory_path.with_name(inventory_path.stem + ".lab-ca")


def share_ca(lab_inventory: Path, copy: Path) -> None:
    """A copy of the lab's inventory (a test's or a drill's variant) deploys with the lab's one
    CA: the deploy looks for it beside the inventory, so the copy gets a link to it."""
    shared = ca_dir(lab_inventory)
    ensure_ca(shared)
    link = ca_dir(copy)
    if not link.exists():
        link.symlink_to(shared)


def _write_key(path: Path, key) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


def ensure_ca(directory: Path) -> Path:
    """The CA certificate (created once); tests and browsers trust this file."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_pem, ca_key = directory / "ca.pem", directory / "ca.key"
    if ca_pem.exists() and ca_key.exists():
        return ca_pem
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "prep-iac lab"),
                      x509.NameAttribute(NameOID.COMMON_NAME, f"prep-iac lab CA {directory.name}")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
    _write_key(ca_key, key)
    ca_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return ca_pem


def _san(names: list[str]) -> list[x509.GeneralName]:
    out: list[x509.GeneralName] = []
    for n in dict.fromkeys(names):
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            out.append(x509.DNSName(n))
    return out


def _still_good(cert_pem: Path, ca_pem: Path, names: list[str]) -> bool:
    if not cert_pem.exists():
        return False
    chain = x509.load_pem_x509_certificates(cert_pem.read_bytes())
    leaf, ca = chain[0], x509.load_pem_x509_certificate(ca_pem.read_bytes())
    if leaf.issuer != ca.subject:
        return False
    if leaf.not_valid_after_utc - dt.datetime.now(dt.UTC) < RENEW_BEFORE:
        return False
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(san) == set(_san(names))


def ensure_cert(directory: Path, host_name: str, names: list[str]) -> tuple[Path, Path]:
    """(fullchain, key) for one host, signed by the lab CA for these DNS names and addresses.

    Re-issued only when missing, for other names, or within 30 days of expiry, so a second
    deploy uploads the very same files (no change).
    """
    ca_pem = ensure_ca(directory)
    cert_pem, key_pem = directory / f"{host_name}.pem", directory / f"{host_name}.key"
    if _still_good(cert_pem, ca_pem, names) and key_pem.exists():
        return cert_pem, key_pem
    ca_key = serialization.load_pem_private_key((directory / "ca.key").read_bytes(), None)
    ca = x509.load_pem_x509_certificate(ca_pem.read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(ca.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=CERT_DAYS))
            .add_extension(x509.SubjectAlternativeName(_san(names)), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    _write_key(key_pem, key)
    cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM)
                         + ca.public_bytes(serialization.Encoding.PEM))
    return cert_pem, key_pem


def cert_names(cfg) -> list[str]:
    """What a host's certificate covers (cfg: its HostConfig): the server names, the
    address, the HA floating address."""
    d = cfg.host
    names = [*d.server_names, d.address]
    if d.ha:
        names.append(str(ipaddress.ip_interface(d.ha.floating_address).ip))
    return list(dict.fromkeys(names))
