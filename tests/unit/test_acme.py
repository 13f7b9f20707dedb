"""tls mode acme: what prep-acme-issue asks certbot for, the one line it makes of a failure,
and the inventory's acme_server / acme_ca. The real issuance is tests/lab/test_acme.py."""

import copy
import json

import pytest
import yaml
from examples import example_text

from prep_iac import contract
from prep_iac.components import tls
from prep_iac.inventory import load_inventory
from prep_iac.inventory.hostconfig import HostConfig
from prep_iac.inventory.schema import Tls
from prep_iac.inventory.tlsfiles import check_ca
from prep_iac.lab import ca as lab_ca
from prep_iac.onhost.acme import AcmeConfig, certbot_command, explain
from prep_iac.onhost.common import settings_from, settings_json
from prep_iac.paths import REPO_DIR

CFG = AcmeConfig(names=["prep.example.mx", "difusor.example.mx"], email="a@example.mx",
                 webroot="/var/lib/prep-web/acme", fullchain="/etc/ssl/prep/fullchain.pem",
                 privkey="/etc/ssl/prep/privkey.pem", server="https://acme.lab:14000/dir",
                 ca_file="/etc/prep-acme/ca.pem")
DONE = CFG.request()


def test_first_run_asks_for_the_certificate():
    cmd = certbot_command(CFG, have_cert=False, issued_for={}, force=False)
    assert cmd[:2] == ["certbot", "certonly"]
    assert ["--webroot", "-w", "/var/lib/prep-web/acme"] == cmd[cmd.index("--webroot"):][:3]
    assert cmd[cmd.index("--server") + 1] == "https://acme.lab:14000/dir"
    assert "--keep-until-expiring" in cmd and "--force-renewal" not in cmd
    assert cmd[-4:] == ["-d", "prep.example.mx", "-d", "difusor.example.mx"]


def test_a_certificate_in_place_is_renewed_when_due_or_forced():
    assert certbot_command(CFG, True, DONE, False) == [
        "certbot", "renew", "--non-interactive", "--cert-name", "prep", "--no-directory-hooks",
        "--no-random-sleep-on-renew"]
    assert certbot_command(CFG, True, DONE, True)[-1] == "--force-renewal"


@pytest.mark.parametrize("changed", [{"server": None}, {"names": ["prep.example.mx"]}])
def test_other_names_or_server_get_a_new_certificate_now(changed):
    cmd = certbot_command(CFG, True, {**DONE, **changed}, False)
    assert cmd[1] == "certonly" and "--force-renewal" in cmd


def test_letsencrypt_is_certbots_default():
    plain = AcmeConfig(**{**CFG.__dict__, "server": None, "ca_file": None})
    assert "--server" not in certbot_command(plain, False, {}, False)


CHALLENGE = """Saving debug log to /var/log/letsencrypt/letsencrypt.log
Requesting a certificate for prep.example.mx and nuevo.example.mx

Certbot failed to authenticate some domains (authenticator: webroot). The Certificate Authority reported these problems:
  Domain: nuevo.example.mx
  Type:   connection
  Detail: 127.0.0.1: Fetching http://nuevo.example.mx/.well-known/acme-challenge/x: Connection refused

Hint: The Certificate Authority failed to download the temporary challenge files created by Certbot.

Some challenges have failed.
Ask for help or search for solutions at https://community.letsencrypt.org. See the logfile /var/log/letsencrypt/letsencrypt.log or re-run Certbot with -v for more details.
"""
UNTRUSTED = """An unexpected error occurred:
requests.exceptions.SSLError: HTTPSConnectionPool(host='10.72.0.1', port=14000): Max retries exceeded with url: /dir (Caused by SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate in certificate chain (_ssl.c:992)')))
Ask for help or search for solutions at https://community.letsencrypt.org.
"""
UNREACHABLE = """An unexpected error occurred:
requests.exceptions.ConnectionError: HTTPSConnectionPool(host='10.72.0.1', port=14000): Max retries exceeded with url: /dir (Caused by NewConnectionError('<urllib3.connection.HTTPSConnection object>: Failed to establish a new connection: [Errno 111] Connection refused'))
"""
RATE = """An unexpected error occurred:
Error creating new order :: too many certificates (5) already issued for this exact set of domains in the last 168 hours
"""


@pytest.mark.parametrize("output, cause, fix", [
    (CHALLENGE, ("the ACME server could not validate nuevo.example.mx over HTTP-01 (connection: "
                "127.0.0.1: Fetching http://nuevo.example.mx/.well-known/acme-challenge/x: "
                "Connection refused)"), "make every server name resolve to this server"),
    (UNTRUSTED, ("certbot does not trust the certificate of the ACME server "
                "https://acme.lab:14000/dir"), "give its CA as tls.acme_ca"),
    (UNREACHABLE, "the ACME server https://acme.lab:14000/dir cannot be reached",
     "check tls.acme_server"),
    (RATE, "refuses more requests for now (rate limit)", "wait for the limit to reset"),
    ("Something new went wrong\nAsk for help or search", ("certbot failed: Something new went "
                                                          "wrong"), "letsencrypt.log"),
])
def test_a_failure_is_one_line_with_cause_and_fix(output, cause, fix):
    line = explain(output, CFG)
    assert "\n" not in line and line.startswith("error: ") and "; fix: " in line
    said_cause, said_fix = line.removeprefix("error: ").split("; fix: ")
    assert cause in said_cause and fix in said_fix


def test_remote_text_in_the_line_is_cleaned():
    hostile = CHALLENGE.replace("Connection refused", "\x1b[31mred\x1b[0m\u202eevil" + "x" * 500)
    line = explain(hostile, CFG)
    assert "\x1b" not in line and "\u202e" not in line and len(line) < 600


# --- the inventory ---------------------------------------------------------------------------

def test_acme_server_and_ca_belong_together_and_to_acme():
    ok = Tls(mode="acme", email="a@example.mx", acme_server="https://10.72.0.1:14000/dir",
             acme_ca="ca.pem")
    assert ok.acme_server.endswith("/dir")
    with pytest.raises(ValueError, match="an ACME server speaks HTTPS only"):
        Tls(mode="acme", email="a@example.mx", acme_server="http://10.72.0.1:14000/dir")
    with pytest.raises(ValueError, match="'acme_ca' is the CA of 'acme_server'"):
        Tls(mode="acme", email="a@example.mx", acme_ca="ca.pem")
    with pytest.raises(ValueError, match="belong to tls mode 'acme', not 'lab-ca'"):
        Tls(mode="lab-ca", acme_server="https://acme.example.mx/dir")


def _ca_and_leaf(tmp_path):
    leaf, key = lab_ca.ensure_cert(tmp_path / "ca", "pebble", ["10.72.0.1"])
    return tmp_path / "ca" / "ca.pem", leaf, key


def test_acme_ca_must_be_a_ca_certificate(tmp_path):
    ca, leaf, key = _ca_and_leaf(tmp_path)
    assert check_ca(str(ca)) is None
    only_leaf = tmp_path / "leaf.pem"
    only_leaf.write_bytes(leaf.read_bytes().split(b"-----END CERTIFICATE-----")[0]
                          + b"-----END CERTIFICATE-----\n")
    assert "holds no CA certificate" in check_ca(str(only_leaf))
    assert "is not a PEM certificate" in check_ca(str(key))
    assert "does not exist" in check_ca(str(tmp_path / "none.pem"))


def test_inventory_check_names_a_bad_acme_ca(tmp_path):
    data = yaml.safe_load(example_text(REPO_DIR / "inventories" / "example-difusor.yml"))
    tls = data["difusores"]["difusor-1"]["tls"]
    tls.update(acme_server="https://10.72.0.1:14000/dir", acme_ca=str(tmp_path / "none.pem"))
    path = tmp_path / "inv.yml"
    path.write_text(yaml.safe_dump(copy.deepcopy(data)))
    with pytest.raises(Exception, match=r"difusores\.difusor-1\.tls.*acme_ca .*none\.pem does "
                                        r"not exist"):
        load_inventory(path)


def test_the_deploy_writes_the_inventory_into_the_programs_config(tmp_path):
    example = REPO_DIR / "inventories" / "example-difusor.yml"
    cfg = tls.acme_config(HostConfig(load_inventory(example), example, "difusor-1", "difusor"))
    assert (cfg.server, cfg.ca_file, cfg.cert_name) == (None, None, "prep")
    data = yaml.safe_load(example_text(example))
    ca, _, _ = _ca_and_leaf(tmp_path)
    data["difusores"]["difusor-1"]["tls"].update(acme_server="https://10.72.0.1:14000/dir",
                                                 acme_ca=str(ca))
    path = tmp_path / "inv.yml"
    path.write_text(yaml.safe_dump(data))
    cfg = tls.acme_config(HostConfig(load_inventory(path), path, "difusor-1", "difusor"))
    assert cfg.server == "https://10.72.0.1:14000/dir"
    assert cfg.ca_file == contract.ACME_CA_FILE  # the copy on the difusor, not the local path
    assert cfg.names == data["difusores"]["difusor-1"]["server_names"]
    assert settings_from(AcmeConfig, json.loads(settings_json(cfg))) == cfg
