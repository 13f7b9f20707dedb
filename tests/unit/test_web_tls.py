"""The lab CA: created once, host certificates re-issued only when needed."""

import ssl

from cryptography import x509

from prep_iac.inventory.tlsfiles import check_pair
from prep_iac.lab import ca as lab_ca


def test_lab_ca_dir_beside_inventory(tmp_path):
    assert lab_ca.ca_dir(tmp_path / "lab-web.yml") == tmp_path / "lab-web.lab-ca"


def test_cert_is_stable_and_valid(tmp_path):
    names = ["prep.lab", "difusor-1.lab", "10.83.0.11", "10.83.0.50"]
    cert, key = lab_ca.ensure_cert(tmp_path, "difusor-1", names)
    first = cert.read_bytes()
    assert lab_ca.ensure_cert(tmp_path, "difusor-1", names)[0].read_bytes() == first
    assert check_pair(str(cert), str(key), names) is None
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    # Python's own TLS stack accepts the chain with the CA as the only trust anchor.
    ctx = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
    ctx.load_cert_chain(cert, key)
    leaf, ca = x509.load_pem_x509_certificates(first)
    assert leaf.issuer == ca.subject


def test_new_names_reissue(tmp_path):
    cert, _ = lab_ca.ensure_cert(tmp_path, "d", ["a.lab"])
    before = cert.read_bytes()
    cert, key = lab_ca.ensure_cert(tmp_path, "d", ["a.lab", "b.lab"])
    assert cert.read_bytes() != before
    assert check_pair(str(cert), str(key), ["a.lab", "b.lab"]) is None
    ca_before = (tmp_path / "ca.pem").read_bytes()
    lab_ca.ensure_cert(tmp_path, "other", ["c.lab"])
    assert (tmp_path / "ca.pem").read_bytes() == ca_before  # one CA per inventory
