"""tls mode acme against a real ACME server: Debian's pebble (Let's Encrypt's test server)
on the controller, listening on the lab bridge; pebble-challtestsrv answers pebble's DNS
questions for the lab's names, so pebble fetches each HTTP-01 challenge from the difusor's
nginx on port 80 exactly as Let's Encrypt would from the Internet.

One difusor (the lab's last) is deployed in tls mode acme with `acme_server` (pebble's
directory) and `acme_ca` (the CA of pebble's own HTTPS certificate), twice. Then: the
certificate is issued and served; `prep-iac audit --ca-file` trusts pebble's root; a forced
renewal reloads nginx while the controller keeps asking (no request lost, new serial); a
name whose challenge fails gives one `error: …; fix: …` line (deploy, journal, verify) and
the previous certificate stays served. Traffic goes only to lab and loopback addresses; both
pebble processes are stopped by PID at the end, also when a test fails.
"""

import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from conftest import deploy
from cryptography import x509
from web.inventory import gateway, write_variant
from web.site import sudo

from prep_iac import contract
from prep_iac.conformance.audit import tls as audit_tls
from prep_iac.conformance.audit.common import Target
from prep_iac.conformance.audit.http import Client
from prep_iac.conformance.verify import verify
from prep_iac.lab import ca as lab_ca

pytestmark = pytest.mark.lab

DEPLOY = "deploys/difusor.py"
SITE = "prep.lab"
EMAIL = "sistemas@example.mx"
START_TIMEOUT_S = 30
RENEWAL_REQUESTS = 400  # the loop's bound; it stops earlier, 2 s after the renewal
REQUEST_GAP_S = 0.05  # ~20 new TLS connections a second: under the site's own limits


def free_port(address: str) -> int:
    with socket.socket() as s:
        s.bind((address, 0))
        return s.getsockname()[1]


class Pebble:
    """pebble + pebble-challtestsrv, started here and stopped by PID in stop()."""

    def __init__(self, workdir: Path, listen: str, default_address: str):
        self.workdir = workdir
        cert, key = lab_ca.ensure_cert(workdir / "api-ca", "pebble", [listen, "127.0.0.1"])
        self.api_ca = workdir / "api-ca" / "ca.pem"  # what certbot must trust (tls.acme_ca)
        self.directory = f"https://{listen}:{free_port(listen)}/dir"
        self.management = f"https://127.0.0.1:{free_port('127.0.0.1')}"
        self.dns = f"127.0.0.1:{free_port('127.0.0.1')}"
        self.dns_management = f"http://127.0.0.1:{free_port('127.0.0.1')}"
        config = {"pebble": {
            "listenAddress": self.directory.split("/")[2],
            "managementListenAddress": self.management.split("/")[2],
            "certificate": str(cert), "privateKey": str(key),
            "httpPort": 80, "tlsPort": 443, "ocspResponderURL": "",
            "externalAccountBindingRequired": False}}
        (workdir / "pebble.json").write_text(json.dumps(config))
        self.procs: list[subprocess.Popen] = []
        self._start(["pebble-challtestsrv", "-defaultIPv4", default_address, "-defaultIPv6", "",
                     "-dns01", self.dns, "-management", self.dns_management.split("/")[2],
                     "-http01", "", "-https01", "", "-tlsalpn01", ""], "challtestsrv.log", {})
        # No random validation sleeps, no refused nonces, no reused authorizations: each
        # order validates its challenges now (a failing one fails every time).
        env = {"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0", "PEBBLE_AUTHZREUSE": "0"}
        self._start(["pebble", "-config", str(workdir / "pebble.json"), "-dnsserver", self.dns],
                    "pebble.log", env)
        self._wait_ready()

    def _start(self, argv: list[str], log: str, env: dict):
        with open(self.workdir / log, "wb") as out:
            self.procs.append(subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                               env={**os.environ, **env}))

    def _wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                self.get(self.directory)
                return
            except OSError:
                assert all(p.poll() is None for p in self.procs), self.logs()
                time.sleep(0.3)
        raise AssertionError(f"pebble did not answer in {START_TIMEOUT_S} s: {self.logs()}")

    def get(self, url: str) -> bytes:
        ctx = ssl.create_default_context(cafile=str(self.api_ca))
        with urllib.request.urlopen(url, context=ctx, timeout=5) as resp:
            return resp.read()

    def root(self) -> Path:
        """pebble's root (new at every start): what signs the difusor's certificate."""
        path = self.workdir / "pebble-root.pem"
        path.write_bytes(self.get(f"{self.management}/roots/0"))
        return path

    def resolve(self, name: str, address: str):
        """pebble's DNS answers `address` for `name` (others: the difusor)."""
        body = json.dumps({"host": name + ".", "addresses": [address]}).encode()
        req = urllib.request.Request(f"{self.dns_management}/add-a", data=body, method="POST")
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert resp.status == 200

    def logs(self) -> str:
        return "\n".join((self.workdir / n).read_text(errors="replace")[-2000:]
                         for n in ("challtestsrv.log", "pebble.log") if (self.workdir / n).exists())

    def stop(self):
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def failure(result) -> str:
    lines = result.output.splitlines()
    return "\n".join([line for line in lines if "rror" in line][-15:]) or result.tail(40)


@pytest.fixture(scope="module")
def acme(lab, tmp_path_factory):
    node = max(n for n in lab.hosts if n.startswith("difusor-"))
    address = lab.hosts[node]
    workdir = tmp_path_factory.mktemp("acme")
    pebble = Pebble(workdir, gateway(str(lab.spec.subnet)), address)
    try:
        tls = {"mode": "acme", "email": EMAIL, "acme_server": pebble.directory,
               "acme_ca": str(pebble.api_ca)}
        inv = write_variant(lab.inventory_path, str(lab.spec.subnet), "https://www.example.mx",
                            ha=False, suffix="acme", tls_for={node: tls})
        env = {"PREP_INVENTORY": str(inv)}
        started = time.monotonic()
        first = deploy(lab, DEPLOY, limit=node, extra_env=env)
        assert first.ok, failure(first) + "\n" + pebble.logs()
        second = deploy(lab, DEPLOY, limit=node, extra_env=env)
        print(f"[acme] two deploys of {node}: {time.monotonic() - started:.0f} s")
        yield {"lab": lab, "node": node, "address": address, "pebble": pebble, "inv": inv,
               "env": env, "second": second, "root": pebble.root(), "dir": workdir}
    finally:
        pebble.stop()


def served(address: str, root: Path | None) -> tuple[x509.Certificate, int]:
    """The certificate nginx serves for SITE (verified against `root`) and a GET's status."""
    ctx = ssl.create_default_context(cafile=str(root)) if root else ssl._create_unverified_context()
    with socket.create_connection((address, 443), timeout=5) as raw, \
            ctx.wrap_socket(raw, server_hostname=SITE) as conn:
        der = conn.getpeercert(binary_form=True)
        conn.sendall(f"GET /estado.json HTTP/1.1\r\nHost: {SITE}\r\nConnection: close\r\n\r\n"
                     .encode())
        head = conn.recv(64).decode(errors="replace")
    return x509.load_der_x509_certificate(der), int(head.split()[1])


def status_line(acme) -> str:
    return sudo(acme["lab"], acme["node"], f"cat {contract.ACME_STATUS}").strip()


def test_deploy_issues_and_serves_the_certificate(acme):
    assert acme["second"].ok and acme["second"].changed == 0, failure(acme["second"])
    cert, _ = served(acme["address"], acme["root"])  # verified: pebble's root, for SITE
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(names.get_values_for_type(x509.DNSName)) == {f"{acme['node']}.lab", SITE}
    assert "Pebble" in cert.issuer.rfc4514_string()
    assert " ok: certificate for " in status_line(acme)
    links = sudo(acme["lab"], acme["node"], "readlink /etc/ssl/prep/fullchain.pem")
    assert links.strip() == "/etc/letsencrypt/live/prep/fullchain.pem"
    timers = sudo(acme["lab"], acme["node"], "systemctl is-enabled prep-acme-issue.timer "
                  "certbot.timer || true").split()
    assert timers == ["enabled", "disabled"]


def test_audit_trusts_the_acme_ca_when_told(acme):
    # A user's DNS would give SITE's address: a private /etc/hosts for the audit alone.
    hosts = acme["dir"] / "hosts"
    hosts.write_text(f"127.0.0.1 localhost\n{acme['address']} {SITE}\n")
    prep = shutil.which("prep-iac", path=str(Path(sys.executable).parent))
    out = acme["dir"] / "audit"
    proc = subprocess.run(
        ["unshare", "--mount", "sh", "-c", 'mount --bind "$0" /etc/hosts && exec "$@"',
         str(hosts), prep, "audit", f"https://{SITE}/", "--ca-file", str(acme["root"]),
         "--out", str(out)], capture_output=True, text=True, timeout=300, check=False)
    assert (out / "conformance.json").exists(), proc.stdout[-2000:] + proc.stderr[-2000:]
    report = json.loads((out / "conformance.json").read_text())
    cert = next(c for c in report["comprobaciones"] if c["check"] == "audit::tls_certificado")
    assert cert["status"] == "cumple" and f"válido para {SITE}" in cert["detail"], cert
    # Not told: the same certificate is refused (pebble's root is in no trust store).
    plain = ssl.create_default_context()
    target = Target(url=f"https://{SITE}/", host_label=SITE, client=Client(plain), context=plain)
    refused = audit_tls.certificate(target, acme["address"], 443, SITE)
    assert refused.status == "no cumple" and "certificado no válido" in refused.detail


def test_forced_renewal_drops_no_request(acme):
    before, _ = served(acme["address"], acme["root"])
    results: list = []
    done = threading.Event()

    def ask():
        stop_at = None
        for _ in range(RENEWAL_REQUESTS):
            if done.is_set():
                stop_at = stop_at or time.monotonic() + 2
                if time.monotonic() > stop_at:
                    return
            try:
                cert, status = served(acme["address"], acme["root"])
                results.append((cert.serial_number, status))
            except (OSError, ValueError, IndexError) as exc:
                results.append((None, repr(exc)))
            time.sleep(REQUEST_GAP_S)

    loop = threading.Thread(target=ask)
    loop.start()
    time.sleep(1)
    try:
        renew = acme["lab"].run(acme["node"], f"sudo {contract.ACME_UNIT.split('.')[0]} "
                                "--force-renewal", timeout=300)
    finally:
        done.set()
        loop.join(timeout=120)
    assert renew.returncode == 0, renew.stdout + renew.stderr
    after, _ = served(acme["address"], acme["root"])
    lost = [r for r in results if r[0] is None]
    serials = [r[0] for r in results]
    print(f"[acme] renewal: {len(results)} HTTPS requests, {len(lost)} lost, serial "
          f"{before.serial_number:x} -> {after.serial_number:x}, "
          f"{serials.count(before.serial_number)} old / {serials.count(after.serial_number)} new")
    assert not lost, lost[:5]
    assert after.serial_number != before.serial_number
    assert serials[0] == before.serial_number and serials[-1] == after.serial_number
    assert set(serials) == {before.serial_number, after.serial_number}
    assert len({r[1] for r in results}) == 1  # every request answered the same way
    assert int(status_line(acme).rsplit("serial ", 1)[1], 16) == after.serial_number


def test_failing_challenge_is_one_line_and_keeps_the_certificate(acme):
    lab, node = acme["lab"], acme["node"]
    before, _ = served(acme["address"], acme["root"])
    # A new server name whose DNS points elsewhere (nothing answers there on port 80).
    acme["pebble"].resolve("nuevo.lab", "127.0.0.1")
    data = yaml.safe_load(acme["inv"].read_text())
    data["difusores"][node]["server_names"].append("nuevo.lab")
    inv = acme["inv"].with_name(acme["inv"].stem + "-nuevo.yml")
    inv.write_text(yaml.safe_dump(data, sort_keys=False, width=200))
    result = deploy(lab, DEPLOY, limit=node, extra_env={"PREP_INVENTORY": str(inv)})
    assert not result.ok
    said = [line for line in result.output.splitlines() if "error: the ACME server could not "
            "validate nuevo.lab" in line]
    assert said and "; fix: make every server name resolve to this server" in said[0], \
        failure(result)
    journal = sudo(lab, node, f"journalctl -u {contract.ACME_UNIT} -o cat --no-pager")
    assert "prep-acme-issue: error: the ACME server could not validate nuevo.lab" in journal
    # The previous certificate stays, served and valid for the names it had.
    after, _ = served(acme["address"], acme["root"])
    assert after.serial_number == before.serial_number
    report, _ = verify(inv, limit=node, out_dir=acme["dir"] / "verify")
    checks = {c["check"]: c for c in report["comprobaciones"]}
    assert checks["web::acme"]["status"] == "no cumple"
    assert "error: the ACME server could not validate nuevo.lab" in checks["web::acme"]["detail"]


def test_leaving_acme_puts_the_hosts_own_pair_back_and_stays_put(acme):
    """Back to the session's tls mode (lab-ca): the ACME timer goes, the links into certbot's
    files are replaced by plain files, and a second deploy changes nothing (the later tests
    of the session deploy this host too)."""
    lab, node = acme["lab"], acme["node"]
    first = deploy(lab, DEPLOY, limit=node)
    assert first.ok, failure(first)
    again = deploy(lab, DEPLOY, limit=node)
    assert again.ok and again.changed == 0, failure(again)
    assert sudo(lab, node, "test -L /etc/ssl/prep/fullchain.pem && echo link || echo file"
                ).strip() == "file"
    assert "prep-acme-issue.timer" not in sudo(lab, node, "systemctl list-unit-files "
                                                          "--no-legend 'prep-acme*' || true")
    served(acme["address"], None)  # still serving TLS
