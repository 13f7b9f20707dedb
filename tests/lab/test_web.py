"""The difusor web tier on real lab hosts: deploy twice, then HTTP and host checks, each
named with the requirement it proves (../REQUIREMENTS.md).

Runs on the session's lab (tests/lab/conftest.py; e.g. PREP_LAB_NAME=web
PREP_LAB_SUBNET=10.83.0.0/24) with two difusores as an HA pair, a 10 s period, and a portal
origin served on the lab bridge for the browser test. Traffic goes only to lab addresses.
"""

import base64
import datetime as dt
import functools
import hashlib
import http.client
import http.server
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import warnings

import pytest
from conftest import REPO, deploy  # tests/lab/conftest.py (pytest puts tests/lab on the path)
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from web import browser
from web.inventory import floating, gateway, write_variant
from web.site import Client, make_cut, sudo, wait_until

from prep_iac.components import logs
from prep_iac.inventory import load_inventory
from prep_iac.lab import ca as lab_ca

pytestmark = pytest.mark.lab

PERIOD_S = 10
NODES = ["difusor-1", "difusor-2"]
# The full difusor (every component) unless told to deploy the web tier alone.
DEPLOY = os.environ.get("PREP_WEB_DEPLOY", "deploys/difusor.py")


def failure(output: str) -> str:
    """The lines of a pyinfra run that say what went wrong (its summary table hides them)."""
    lines = output.splitlines()
    picked = [i for i, line in enumerate(lines)
              if re.search(r"Error|emerg|failed|Traceback|Exception", line)]
    context = [lines[j] for i in picked[-15:] for j in range(max(0, i - 2), i + 1)]
    return "\n".join(dict.fromkeys(context)) or output[-3000:]


def free_port(address: str) -> int:
    with socket.socket() as s:
        s.bind((address, 0))
        return s.getsockname()[1]


class Portal:
    """A difusor's own site (the portal origin) on the lab bridge: a page framing the PREP."""

    def __init__(self, address: str, port: int, target: str):
        self.dir = tempfile.mkdtemp(prefix="prep-portal-")
        with open(os.path.join(self.dir, "index.html"), "w") as f:
            f.write('<!DOCTYPE html><html><body><h1>Diario de Ejemplo</h1>'
                    f'<iframe id="difusor" src="{target}" width="1000" height="800"></iframe>'
                    "</body></html>")
        handler = functools.partial(_QuietHandler, directory=self.dir)
        self.server = http.server.ThreadingHTTPServer((address, port), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.origin = f"http://{address}:{port}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def web(lab):
    """Variant inventory written, portal origin listening, deployed twice."""
    subnet = str(lab.spec.subnet)
    gw = gateway(subnet)
    port = free_port(gw)
    portal = Portal(gw, port, "https://prep.lab/portal/")
    try:
        inv = write_variant(lab.inventory_path, subnet, portal.origin, period_s=PERIOD_S,
                            rate_limits={"requests_per_s": 20, "burst": 40, "connections": 50})
        env = {"PREP_INVENTORY": str(inv)}
        first = deploy(lab, DEPLOY, extra_env=env)
        assert first.ok, failure(first.output)
        second = deploy(lab, DEPLOY, extra_env=env)
        ca = lab_ca.ca_dir(inv) / "ca.pem"
        yield {"lab": lab, "inventory": load_inventory(inv), "inventory_path": inv, "env": env,
               "first": first, "second": second, "portal": portal, "ca": ca,
               "vip": floating(subnet).split("/")[0], "client": Client(ca),
               "addr": {n: lab.hosts[n] for n in NODES}}
    finally:
        portal.close()


_cuts = iter(range(1, 1000))


@pytest.fixture
def cut(web):
    """A fresh cut on both nodes (with a 10 s period a node goes to `aviso` 30 s after its
    last cut, so every test starts from a new one). Returns its id; its time is 20:00."""
    cut_id = f"20210606_2000_PREP_{next(_cuts):03d}"
    make_cut(web["lab"], NODES, cut_id, {"index.html": f"<h1>PREP corte 20:00 {cut_id}</h1>",
                                         "datos/COAH_AYUN_2021.csv": "a,b\n1,2\n"})
    return cut_id


def get(web, node, path, method="GET", https=True, **kw):
    return web["client"].request(web["addr"][node], method, path, https=https, **kw)


@pytest.mark.conv("CONV-IV.3")
def test_second_deploy_changes_nothing(web):
    assert web["second"].ok, failure(web["second"].output)
    assert web["second"].changed == 0, [line for line in web["second"].output.splitlines()
                                        if re.search(r"\s[1-9]\d*\s+[-\d]+\s+[-\d]+\s*$", line)]


@pytest.mark.conv("CONV-I.6", "CONV-I.10")
def test_headers(web, cut):
    resp, body = get(web, "difusor-1", "/")
    assert resp.status == 200 and f"corte 20:00 {cut}".encode() in body
    h = {k.lower(): v for k, v in resp.getheaders()}
    assert h["x-prep-corte"] == cut
    assert h["x-content-type-options"] == "nosniff"
    assert h["referrer-policy"] == "strict-origin-when-cross-origin"
    assert h["strict-transport-security"].startswith("max-age=")
    assert h["server"] == "nginx"  # no version (server_tokens off)
    assert h["cache-control"] == "public, max-age=30, must-revalidate"
    assert "etag" in h and "last-modified" in h
    resp, _ = get(web, "difusor-1", "/datos/COAH_AYUN_2021.csv", headers={"Accept-Encoding": "gzip"})
    assert resp.getheader("Content-Type").startswith("text/csv")


@pytest.mark.conv("CONV-I.6")
def test_frame_ancestors_match_inventory(web, cut):
    for node in NODES:
        origins = web["inventory"].difusores[node].portal_origins
        resp, _ = get(web, node, "/")
        assert resp.getheader("Content-Security-Policy") == \
            "frame-ancestors 'self' " + " ".join(origins)
        assert resp.getheader("X-Frame-Options") is None


@pytest.mark.conv("CONV-I.2")
def test_get_head_only(web, cut):
    assert get(web, "difusor-1", "/", "HEAD")[0].status == 200
    for method in ("POST", "PUT", "DELETE", "TRACE"):
        assert get(web, "difusor-1", "/", method)[0].status == 405, method


@pytest.mark.conv("CONV-I.10")
def test_estado_and_header_carry_the_cut(web, cut):
    resp, body = get(web, "difusor-2", "/estado.json")
    estado = json.loads(body)
    assert resp.status == 200 and estado["corte"] == cut and estado["estado"] == "publicando"
    assert resp.getheader("X-PREP-Corte") == cut
    assert resp.getheader("Cache-Control") == "no-store"


@pytest.mark.conv("CONV-I.10")
def test_switch_seen_by_next_request(web, cut):
    assert get(web, "difusor-1", "/")[0].getheader("X-PREP-Corte") == cut
    make_cut(web["lab"], ["difusor-1"], "20210606_2010_PREP", {"index.html": "corte 20:10"},
             hora="2021-06-06T20:10:00-05:00")
    resp, body = get(web, "difusor-1", "/")
    assert body == b"corte 20:10" and resp.getheader("X-PREP-Corte") == "20210606_2010_PREP"


def journal(web, node, since):
    return sudo(web["lab"], node, f"journalctl -t prep-watchdog --since '@{int(since)}' -o cat")


@pytest.mark.conv("CONV-III.2")
def test_notice_after_three_periods_and_back(web, cut):
    lab, start = web["lab"], time.time()
    make_cut(lab, ["difusor-2"], "20210606_2020_PREP", {"index.html": "corte 20:20"},
             hora="2021-06-06T20:20:00-05:00")
    assert get(web, "difusor-2", "/")[0].status == 200

    def notice_up():
        resp, body = get(web, "difusor-2", "/")
        return resp.status == 503 and b"interrumpidas" in body and body

    body = wait_until(notice_up, timeout=3 * PERIOD_S + 20, what="the notice page")
    elapsed = time.time() - start
    assert elapsed >= 3 * PERIOD_S, f"notice after {elapsed:.0f} s, before 3 periods"
    assert b"06/06/2021 20:20 (UTC-05:00)" in body  # the last cut's time
    assert web["inventory"].iec.official_url.encode() in body
    assert json.loads(get(web, "difusor-2", "/estado.json")[1])["estado"] == "aviso"
    assert "aviso ON: nothing fresh for" in journal(web, "difusor-2", start)

    make_cut(lab, ["difusor-2"], "20210606_2030_PREP", {"index.html": "corte 20:30"},
             hora="2021-06-06T20:30:00-05:00")
    resp, body = get(web, "difusor-2", "/")
    assert resp.status == 200 and body == b"corte 20:30"
    assert json.loads(get(web, "difusor-2", "/estado.json")[1])["estado"] == "publicando"
    assert "aviso OFF: cut 20210606_2030_PREP" in journal(web, "difusor-2", start)


@pytest.mark.conv("CONV-I.1")
def test_not_open_page_before_window(web, cut):
    lab, node = web["lab"], "difusor-1"
    conf = "/etc/prep-watchdog/config.json"
    saved = json.loads(sudo(lab, node, f"cat {conf}"))
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    early = {**saved, "opens": later.isoformat(timespec="seconds")}
    try:
        sudo(lab, node, f"echo {base64.b64encode(json.dumps(early).encode()).decode()} | "
                        f"base64 -d > {conf} && /usr/local/sbin/prep-watchdog")
        resp, body = get(web, node, "/")
        assert resp.status == 503 and "aún no inicia".encode() in body
        assert json.loads(get(web, node, "/estado.json")[1])["estado"] == "por-abrir"
        # The deployed page names the inventory's opening time.
        assert web["inventory"].iec.window.opens_at.strftime("%H:%M").encode() in body
    finally:
        sudo(lab, node, f"echo {base64.b64encode(json.dumps(saved, indent=2).encode()).decode()}"
                        f" | base64 -d > {conf} && /usr/local/sbin/prep-watchdog")
    resp, body = get(web, node, "/")
    assert resp.status == 200, body[:300]  # a notice page here says which flag is up


@pytest.mark.conv("CONV-III.2")
def test_an_older_release_watchdog_timer_is_retired(web, cut):
    """Difusores deployed before the watchdog became resident ran it from a timer, a unit
    start every few seconds: the next deploy stops and removes it, the resident service
    goes on, and the deploy after that changes nothing."""
    lab, node = web["lab"], "difusor-1"
    timer = "/etc/systemd/system/prep-watchdog.timer"
    old = "[Timer]\nOnUnitActiveSec=2s\n\n[Install]\nWantedBy=timers.target\n"
    sudo(lab, node, f"printf '{old}' > {timer} && systemctl daemon-reload && "
                    "systemctl enable --now prep-watchdog.timer")
    assert sudo(lab, node, "systemctl is-active prep-watchdog.timer").strip() == "active"
    first = deploy(lab, DEPLOY, limit=node, extra_env=web["env"])
    assert first.ok, failure(first.output)
    assert lab.run(node, f"test -e {timer}").returncode == 1
    assert lab.run(node, "systemctl is-active prep-watchdog.timer").stdout.strip() == "inactive"
    assert sudo(lab, node, "systemctl is-active prep-watchdog.service").strip() == "active"
    again = deploy(lab, DEPLOY, limit=node, extra_env=web["env"])
    assert again.ok and again.changed == 0, failure(again.output)


@pytest.mark.conv("CONV-I.2")
def test_tls_with_lab_ca(web, cut):
    resp, _ = get(web, "difusor-1", "/portal/")
    assert resp.status == 200  # verified against the lab CA, for the site's name
    # TLS 1.1 offered (and allowed by this client): the server, Mozilla intermediate, refuses.
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(str(web["ca"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    with (pytest.raises(ssl.SSLError),
          socket.create_connection((web["addr"]["difusor-1"], 443), timeout=5) as s):
        ctx.wrap_socket(s, server_hostname="prep.lab")
    resp, _ = get(web, "difusor-1", "/x", https=False)
    assert resp.status == 301 and resp.getheader("Location") == "https://prep.lab/x"
    sudo(web["lab"], "difusor-1",
         "echo token > /var/lib/prep-web/acme/.well-known/acme-challenge/t 2>/dev/null || "
         "(mkdir -p /var/lib/prep-web/acme/.well-known/acme-challenge && "
         "echo token > /var/lib/prep-web/acme/.well-known/acme-challenge/t)")
    resp, body = get(web, "difusor-1", "/.well-known/acme-challenge/t", https=False)
    assert resp.status == 200 and body == b"token\n"


@pytest.mark.conv("CONV-II.d.1")
def test_rate_limit_429(web, cut):
    """20 r/s + burst 40 in the test inventory: 150 quick requests on one connection."""
    ctx = ssl.create_default_context(cafile=str(web["ca"]))
    conn = http.client.HTTPSConnection(web["addr"]["difusor-2"], 443, context=ctx, timeout=5)
    codes = []
    try:
        for _ in range(150):
            conn.request("GET", "/estado.json", headers={"Host": "prep.lab"})
            resp = conn.getresponse()
            body = resp.read()
            codes.append(resp.status)
            if resp.status == 429:
                assert b"Demasiadas solicitudes" in body
    finally:
        conn.close()
    assert codes[0] == 200 and 429 in codes, codes
    time.sleep(3)  # let the bucket refill for the next tests


@pytest.mark.conv("CONV-VI")
def test_access_log_and_rotation(web, cut):
    lab, node = web["lab"], "difusor-1"
    get(web, node, "/", headers={"User-Agent": "prep-lab-test"})
    line = wait_until(lambda: [ln for ln in sudo(lab, node, "tail -n 50 /var/log/nginx/prep.access.log")
                                .splitlines() if "prep-lab-test" in ln], timeout=10)[-1]
    assert re.fullmatch(r'\S+ - - \[[^]]+\] "GET / HTTP/\S+" 200 \d+ "-" "prep-lab-test" '
                        r'rt=\d+\.\d{3} host=prep\.lab', line), line
    out = lab.run(node, f"sudo logrotate -d {logs.LOGROTATE_FILE}")
    assert out.returncode == 0, out.stderr
    assert "error:" not in out.stderr, out.stderr
    sudo(lab, node, f"logrotate -f {logs.LOGROTATE_FILE}")
    rotated = sudo(lab, node, "ls /var/log/nginx")
    archive = sudo(lab, node, f"ls {logs.ARCHIVE}")
    yesterday = sudo(lab, node, "date -d yesterday +%Y%m%d").strip()
    assert f"prep.access.log-{yesterday}" in rotated
    window = web["inventory"].iec.window
    in_window = window.opens_at.strftime("%Y%m%d") <= yesterday <= window.closes_at.strftime("%Y%m%d")
    assert (f"prep.access.log-{yesterday}" in archive) == in_window, (archive, in_window)


@pytest.mark.conv("CONV-I.6", "CONV-I.10")
def test_portal_in_chromium(web, cut):
    if not browser.chromium():
        pytest.fail("Debian's chromium is needed: apt-get install chromium (./dev bootstrap)")
    spki = []
    for node in NODES:
        cert = x509.load_pem_x509_certificate(
            (lab_ca.ca_dir(web["inventory_path"]) / f"{node}.pem").read_bytes())
        der = cert.public_key().public_bytes(serialization.Encoding.DER,
                                             serialization.PublicFormat.SubjectPublicKeyInfo)
        spki.append(base64.b64encode(hashlib.sha256(der).digest()).decode())
    b = browser.Browser([f"--host-resolver-rules=MAP prep.lab {web['addr']['difusor-1']}",
                         "--ignore-certificate-errors-spki-list=" + ",".join(spki)])
    try:
        b.open(web["portal"].origin + "/")
        want_time = "06/06/2021 20:00 (UTC-05:00)"
        frames = b.wait_for(lambda f: len(f) >= 3 and want_time in f[1]["text"]
                            and cut in f[2]["text"], timeout=25)
    finally:
        b.close()
    urls = [f["url"] for f in frames]
    assert urls[:3] == [web["portal"].origin + "/", "https://prep.lab/portal/",
                        "https://prep.lab/"], frames
    assert want_time in frames[1]["text"] and cut in frames[1]["text"]
    assert f"corte 20:00 {cut}" in frames[2]["text"]  # the PREP itself, inside the portal's frame


@pytest.mark.conv("CONV-I.6")
def test_frame_refused_from_other_origin(web, cut):
    """A page from an origin not in the inventory cannot frame the PREP."""
    gw = gateway(str(web["lab"].spec.subnet))
    other = Portal(gw, free_port(gw), "https://prep.lab/portal/")
    b = browser.Browser([f"--host-resolver-rules=MAP prep.lab {web['addr']['difusor-1']}",
                         "--ignore-certificate-errors"])
    try:
        b.open(other.origin + "/")
        frames = b.wait_for(lambda f: len(f) >= 2 and f[1]["url"] != "about:blank", timeout=15)
    finally:
        b.close()
        other.close()
    assert not any("Programa de Resultados" in f["text"] for f in frames[1:]), frames


@pytest.mark.conv("CONV-II.a.2")
def test_ha_failover(web, cut):
    lab, vip = web["lab"], web["vip"]

    def holder():
        for node in NODES:
            if f"inet {vip}/" in sudo(lab, node, "ip -4 -o addr show"):
                return node
        return None

    master = wait_until(holder, timeout=15, what="a node holding the floating address")
    other = next(n for n in NODES if n != master)
    assert get(web, master, "/")[0].status == 200
    client = web["client"]
    try:
        sudo(lab, master, "systemctl stop nginx")
        moved = wait_until(lambda: holder() == other, timeout=20, what="the address to move")
        assert moved
        resp, _ = wait_until(lambda: client.request(vip, "GET", "/estado.json"), timeout=10)
        assert resp.status == 200
        # and it keeps answering from the new master
        codes = [client.request(vip, "GET", "/estado.json")[0].status for _ in range(5)]
        assert codes == [200] * 5
    finally:
        sudo(lab, master, "systemctl start nginx")
    wait_until(lambda: holder() == master, timeout=20, what="the address to come back")


@pytest.mark.conv("CONV-I.2", "CONV-I.6", "CONV-I.10", "CONV-III.2", "CONV-VI")
def test_conformance_suite(web, cut):
    """The inside checks (prep_iac/conformance/suites/test_web.py) pass on both nodes."""
    lab = web["lab"]
    hosts = ",".join(f"ssh://prepadmin@{lab.hosts[n]}" for n in NODES)
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         str(REPO / "prep_iac/conformance/suites/test_web.py"), f"--hosts={hosts}",
         f"--ssh-config={lab.ssh_config_path}", "--sudo",
         f"--prep-inventory={web['inventory_path']}"],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]


@pytest.mark.conv("CONV-IV.3")
def test_bad_config_never_goes_live(web, cut):
    """A config nginx refuses is rolled back whole; the site keeps serving; the next deploy
    stages it again."""
    lab, node = web["lab"], "difusor-1"
    before = sudo(lab, node, "md5sum /etc/nginx/nginx.conf /etc/nginx/prep/sitio.conf")
    sudo(lab, node, "echo 'directiva_falsa on;' >> /etc/nginx/prep-staging/prep/sitio.conf")
    out = lab.run(node, "sudo /usr/local/sbin/prep-nginx-apply")
    assert out.returncode != 0
    assert 'unknown directive "directiva_falsa"' in out.stderr, out.stderr
    assert "the previous one stays live" in out.stderr
    assert sudo(lab, node, "md5sum /etc/nginx/nginx.conf /etc/nginx/prep/sitio.conf") == before
    assert sudo(lab, node, "test -e /etc/nginx/prep-staging && echo yes || echo no").strip() == "no"
    resp, body = get(web, node, "/")
    assert resp.status == 200, body[:300]  # a notice page here says which flag is up
    again = deploy(lab, DEPLOY, limit=node, extra_env=web["env"])
    assert again.ok and again.changed > 0, failure(again.output)
    assert sudo(lab, node, "md5sum /etc/nginx/nginx.conf /etc/nginx/prep/sitio.conf") == before
