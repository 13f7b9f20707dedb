"""TLS for the public site: `acme` (certbot, HTTP-01 webroot), `files`, `lab-ca`.

Every mode ends with the same three files in TLS_DIR (fullchain.pem, privkey.pem,
ffdhe2048.pem), so the nginx site does not care where its certificate came from.
"""

import datetime as dt
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyinfra.api import deploy
from pyinfra.operations import apt, files, server, systemd
from pyinfra.operations.util import any_changed

from prep_iac import paths
from prep_iac.components import distro
from prep_iac.components.common import config
from prep_iac.components.nginx import ACME_WEBROOT, TLS_DIR
from prep_iac.inventory.hostconfig import HostConfig

FULLCHAIN = f"{TLS_DIR}/fullchain.pem"
PRIVKEY = f"{TLS_DIR}/privkey.pem"
ACME_CERT_NAME = "prep"
ACME_LIVE = f"/etc/letsencrypt/live/{ACME_CERT_NAME}"
RENEW_HOOK = "/etc/letsencrypt/renewal-hooks/deploy/prep-nginx"
ACME_ISSUE = "/usr/local/sbin/prep-acme-issue"

LAB_CA_DAYS = 3650
LAB_CERT_DAYS = 397
RENEW_BEFORE = dt.timedelta(days=30)


# --- lab-ca: a local CA on the controller, one per inventory ---------------------------------

def lab_ca_dir(inventory_path: Path) -> Path:
    """`inventories/lab.yml` -> `inventories/lab.lab-ca/`: beside the inventory it serves."""
    inventory_path = Path(inventory_path)
    return inventory_path.with_name(inventory_path.stem + ".lab-ca")


def _write_key(path: Path, key) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


def ensure_lab_ca(directory: Path) -> Path:
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
            .not_valid_after(now + dt.timedelta(days=LAB_CA_DAYS))
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


def ensure_lab_cert(directory: Path, host_name: str, names: list[str]) -> tuple[Path, Path]:
    """(fullchain, key) for one host, signed by the lab CA for these DNS names and addresses.

    Re-issued only when missing, for other names, or within 30 days of expiry, so a second
    deploy uploads the very same files (no change).
    """
    ca_pem = ensure_lab_ca(directory)
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
            .not_valid_after(now + dt.timedelta(days=LAB_CERT_DAYS))
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


def cert_names(cfg: HostConfig) -> list[str]:
    """What a lab certificate covers: the server names, the address, the HA floating address."""
    d = cfg.host
    names = [*d.server_names, d.address]
    if d.ha:
        names.append(str(ipaddress.ip_interface(d.ha.floating_address).ip))
    return list(dict.fromkeys(names))


# --- the deploy ------------------------------------------------------------------------------

def _reload_nginx_if(*ops):
    # Only when nginx already runs with our site; a first deploy starts it in nginx.site().
    server.shell(name="reload nginx for the new certificate",
                 commands=[("if systemctl is-active --quiet nginx && nginx -t -q; "
                            "then systemctl reload nginx; fi")],
                 _if=any_changed(*ops))


def _upload_pair(cert: str, key: str):
    return [files.put(name="TLS certificate (full chain)", src=cert, dest=FULLCHAIN,
                      user="root", group="root", mode="644"),
            files.put(name="TLS private key", src=key, dest=PRIVKEY,
                      user="root", group="root", mode="600")]


def _acme(cfg: HostConfig):
    """certbot from Debian, HTTP-01 through nginx's webroot; Debian's certbot.timer renews.

    Until the first certificate is issued nginx uses a self-signed one (ssl-cert's snakeoil),
    so the site and the challenge path are up for the ACME server to reach.
    """
    d = cfg.host
    apt.packages(name="certbot and ssl-cert", packages=distro.for_host()["acme_packages"], update=True, cache_time=3600)
    hook = files.put(name="certbot deploy hook: reload nginx",
                     src=paths.template("tls", "prep-nginx-hook.sh"), dest=RENEW_HOOK,
                     create_remote_dir=True, user="root", group="root", mode="755")
    issue = files.template(name="prep-acme-issue", src=paths.template("tls", "prep-acme-issue.sh.j2"),
                           dest=ACME_ISSUE, user="root", group="root", mode="755",
                           names=d.server_names, email=d.tls.email, webroot=ACME_WEBROOT,
                           cert_name=ACME_CERT_NAME, live=ACME_LIVE,
                           fullchain=FULLCHAIN, privkey=PRIVKEY)
    unit = files.template(name="prep-acme-issue.service",
                          src=paths.template("tls", "prep-acme-issue.service.j2"),
                          dest="/etc/systemd/system/prep-acme-issue.service",
                          user="root", group="root", mode="644", issue=ACME_ISSUE)
    timer = files.put(name="prep-acme-issue.timer", src=paths.template("tls", "prep-acme-issue.timer"),
                      dest="/etc/systemd/system/prep-acme-issue.timer",
                      user="root", group="root", mode="644")
    # Placeholder pair, only if nothing is there yet (certbot's hook replaces the links).
    server.shell(name="self-signed placeholder until the first ACME certificate",
                 commands=[f"test -e {FULLCHAIN} || ln -s /etc/ssl/certs/ssl-cert-snakeoil.pem {FULLCHAIN}",
                           f"test -e {PRIVKEY} || ln -s /etc/ssl/private/ssl-cert-snakeoil.key {PRIVKEY}"],
                 _if=any_changed(issue))
    systemd.daemon_reload(name="systemd knows the ACME units", _if=any_changed(unit, timer))
    systemd.service(name="certbot renewal timer", service="certbot.timer", running=True,
                    enabled=True)
    # Retries issuance (a fresh name's DNS may lag) until the certificate exists.
    systemd.service(name="first-issuance timer", service="prep-acme-issue.timer", running=True,
                    enabled=True)
    return [hook, issue]


@deploy("tls: certificates")
def certificates():
    cfg = config()
    tls = cfg.host.tls
    if tls is None:  # plain HTTP site: nothing to do
        return
    files.directory(name="TLS directory", path=TLS_DIR, user="root", group="root", mode="755")
    dh = files.put(name="Mozilla ffdhe2048 DH group", src=paths.template("tls", "ffdhe2048.pem"),
                   dest=f"{TLS_DIR}/ffdhe2048.pem", user="root", group="root", mode="644")
    if tls.mode == "lab-ca":
        cert, key = ensure_lab_cert(lab_ca_dir(cfg.inventory_path), cfg.name, cert_names(cfg))
        changed = _upload_pair(str(cert), str(key))
    elif tls.mode == "files":
        changed = _upload_pair(tls.cert, tls.key)
    else:
        changed = _acme(cfg)
    _reload_nginx_if(dh, *changed)
