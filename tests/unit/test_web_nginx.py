"""The nginx templates, rendered from an inventory and run by a real local nginx on loopback.

Paths are moved under a temporary prefix and ports to free loopback ports; everything else
is the config a difusor gets. Skipped when there is no nginx binary on this machine.
"""

import http.client
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

import jinja2
import pytest
import yaml
from examples import example_text

from prep_iac import paths
from prep_iac.components import nginx
from prep_iac.inventory import load_inventory
from prep_iac.inventory.hostconfig import HostConfig
from prep_iac.lab import ca as lab_ca

REPO = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
pytestmark = pytest.mark.skipif(not os.path.exists(NGINX) or os.geteuid() != 0,
                                reason="needs nginx and root (workers run as www-data)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_config(tmp: Path, tls_mode: str | None = "lab-ca", **difusor) -> HostConfig:
    data = yaml.safe_load(example_text(REPO / "inventories" / "example-difusor.yml"))
    d = data["difusores"]["difusor-1"]
    d.update(address="127.0.0.1", server_names=["prep.lab.test"],
             portal_origins=["https://www.example.mx", "http://127.0.0.1:8099"], **difusor)
    d["tls"] = {"mode": tls_mode} if tls_mode else None
    if not tls_mode:
        del d["tls"]
    path = tmp / "inv.yml"
    path.write_text(yaml.safe_dump(data))
    return HostConfig(load_inventory(path), path, "difusor-1", "difusor")


def render(tpl_dir: str, name: str, ctx: dict) -> str:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    return env.from_string(Path(paths.template(tpl_dir, name)).read_text()).render(**ctx)


class LocalNginx:
    """The difusor's nginx config under `root`, on loopback ports."""

    def __init__(self, root: Path, cfg: HostConfig):
        self.root, self.cfg = root, cfg
        self.http, self.https = free_port(), free_port()
        self.etc = root / "etc/nginx"
        self.prep_root = root / "srv/prep"
        self.state_dir = root / "var/lib/prep-watchdog"
        ctx = nginx.context(cfg)
        ctx.update(prep_root=str(self.prep_root), web_root=str(root / "srv/prep-web"),
                   state_dir=str(self.state_dir), acme_webroot=str(root / "acme"),
                   tls_dir=str(root / "tls"))
        self.ctx = ctx
        for d in ("etc/nginx/conf.d", "etc/nginx/sites-enabled", "etc/nginx/prep",
                  "etc/nginx/prep.d", "etc/nginx/modules-enabled", "log", "srv/prep/cortes",
                  "var/lib/prep-watchdog", "srv/prep-web/portal", "srv/prep-web/paginas",
                  "acme/.well-known/acme-challenge", "tls"):
            (root / d).mkdir(parents=True, exist_ok=True)
        shutil.copy("/etc/nginx/mime.types", self.etc / "mime.types")
        for tpl, rel in nginx.CONFIG_FILES.items():
            (self.etc / rel).write_text(self.localize(render("nginx", tpl, ctx)))
        for tpl, rel in nginx.PAGES.items():
            (root / "srv/prep-web" / rel).write_text(render("portal", tpl, ctx))
        shutil.copy(paths.template("tls", "ffdhe2048.pem"), root / "tls/ffdhe2048.pem")
        if cfg.host.tls:
            cert, key = lab_ca.ensure_cert(root / "ca", "difusor-1", lab_ca.cert_names(cfg))
            shutil.copy(cert, root / "tls/fullchain.pem")
            shutil.copy(key, root / "tls/privkey.pem")
            self.ca = root / "ca/ca.pem"
        (root / "acme/.well-known/acme-challenge/tok").write_text("tok.thumb")
        os.system(f"chmod -R a+rX {root}")
        self.proc = None

    def localize(self, text: str) -> str:
        text = text.replace("/etc/nginx/", f"{self.etc}/")
        text = text.replace("/var/log/nginx/", f"{self.root}/log/")
        text = text.replace("/run/nginx.pid", f"{self.root}/nginx.pid")
        text = re.sub(r"listen \[::\]:\d+[^;]*;\n", "", text)
        text = re.sub(r"listen 80\b", f"listen 127.0.0.1:{self.http}", text)
        text = re.sub(r"listen 443\b", f"listen 127.0.0.1:{self.https}", text)
        text = text.replace("worker_rlimit_nofile 65536;\n", "")
        return text.replace("worker_processes auto;", "worker_processes 1;")

    def test_config(self) -> subprocess.CompletedProcess:
        return subprocess.run([NGINX, "-t", "-c", str(self.etc / "nginx.conf"),
                               "-e", str(self.root / "log/error.log")],
                              capture_output=True, text=True, check=False)

    def start(self):
        self.proc = subprocess.Popen([NGINX, "-c", str(self.etc / "nginx.conf"), "-e",
                                      str(self.root / "log/error.log"), "-g", "daemon off;"])
        port = self.https if self.cfg.host.tls else self.http
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError((self.root / "log/error.log").read_text())

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(10)

    # --- the on-disk contract, by hand ---
    def cut(self, cut_id: str, files: dict[str, str], hora="2021-06-06T20:00:00-05:00"):
        d = self.prep_root / "cortes" / cut_id
        d.mkdir(parents=True)
        for rel, text in files.items():
            (d / rel).parent.mkdir(parents=True, exist_ok=True)
            (d / rel).write_text(text)
        os.system(f"chmod -R a+rX {d}")
        tmp = self.prep_root / "current.tmp"
        tmp.symlink_to(f"cortes/{cut_id}")
        os.replace(tmp, self.prep_root / "current")
        (self.prep_root / "estado.json").write_text(json.dumps({
            "corte": cut_id, "corte_fecha_hora": hora, "activado": "2021-06-06T20:01:00-05:00",
            "periodo_s": 600, "estado": "publicando"}))
        os.chmod(self.prep_root / "estado.json", 0o644)

    def request(self, method: str, path: str, tls_on: bool | None = None, headers=None):
        tls_on = bool(self.cfg.host.tls) if tls_on is None else tls_on
        if tls_on:
            ctx = ssl.create_default_context(cafile=str(self.ca))
            conn = http.client.HTTPSConnection("127.0.0.1", self.https, context=ctx, timeout=5)
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.http, timeout=5)
        conn.request(method, path, headers={"Host": "prep.lab.test", **(headers or {})})
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
        return resp, body


@pytest.fixture
def tmp_path():
    # nginx's workers (www-data) must reach the files: pytest's own tmp dirs are 0700.
    path = Path(tempfile.mkdtemp(prefix="prep-web-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def site(tmp_path):
    srv = LocalNginx(tmp_path, make_config(tmp_path))
    yield srv
    srv.stop()


def test_config_passes_nginx_t(site):
    out = site.test_config()
    assert out.returncode == 0, out.stderr
    assert "warn" not in out.stderr, out.stderr


def test_plain_http_config_passes(tmp_path):
    srv = LocalNginx(tmp_path, make_config(tmp_path, tls_mode=None))
    out = srv.test_config()
    assert out.returncode == 0, out.stderr
    srv.cut("C1", {"index.html": "<p>uno</p>"})
    srv.start()
    try:
        resp, body = srv.request("GET", "/")
        assert resp.status == 200 and body == b"<p>uno</p>"
        assert resp.getheader("Strict-Transport-Security") is None
    finally:
        srv.stop()


def test_headers_and_cut(site):
    site.cut("20210606_2000", {"index.html": "<p>uno</p>", "datos.csv": "a,b\n"})
    site.start()
    resp, body = site.request("GET", "/")
    assert resp.status == 200 and body == b"<p>uno</p>"
    h = {k.lower(): v for k, v in resp.getheaders()}
    assert h["x-prep-corte"] == "20210606_2000"
    assert h["content-security-policy"] == ("frame-ancestors 'self' https://www.example.mx "
                                            "http://127.0.0.1:8099")
    assert "x-frame-options" not in h
    assert h["x-content-type-options"] == "nosniff"
    assert h["referrer-policy"] == "strict-origin-when-cross-origin"
    assert h["strict-transport-security"] == "max-age=63072000"
    assert h["cache-control"] == "public, max-age=30, must-revalidate"
    assert "etag" in h and "last-modified" in h
    assert h["server"] == "nginx"
    resp, body = site.request("GET", "/datos.csv")
    assert resp.getheader("Content-Type").startswith("text/csv")


def test_gzip_static(site):
    import gzip

    site.cut("C1", {"index.html": "x", "datos.csv": "a,b\n" * 10})
    (site.prep_root / "cortes/C1/datos.csv.gz").write_bytes(gzip.compress(b"precomprimido"))
    os.chmod(site.prep_root / "cortes/C1/datos.csv.gz", 0o644)
    site.start()
    resp, body = site.request("GET", "/datos.csv", headers={"Accept-Encoding": "gzip"})
    assert resp.getheader("Content-Encoding") == "gzip"
    assert gzip.decompress(body) == b"precomprimido"
    resp, body = site.request("GET", "/datos.csv")
    assert body == b"a,b\n" * 10


def test_methods(site):
    site.cut("C1", {"index.html": "x"})
    site.start()
    assert site.request("HEAD", "/")[0].status == 200
    for m in ("POST", "PUT", "DELETE", "OPTIONS", "TRACE"):
        resp, _ = site.request(m, "/")
        assert resp.status == 405, m
    resp, body = site.request("POST", "/")
    assert b"GET y HEAD" in body and resp.getheader("Allow") == "GET, HEAD"


def test_switch_seen_by_next_request(site):
    site.cut("A", {"index.html": "A"})
    site.start()
    assert site.request("GET", "/")[1] == b"A"
    site.cut("B", {"index.html": "B"})
    resp, body = site.request("GET", "/")
    assert body == b"B" and resp.getheader("X-PREP-Corte") == "B"


def test_estado_json(site):
    site.cut("C7", {"index.html": "x"})
    site.start()
    resp, body = site.request("GET", "/estado.json")
    assert resp.status == 200 and json.loads(body)["corte"] == "C7"
    assert resp.getheader("Cache-Control") == "no-store"
    assert resp.getheader("Content-Type") == "application/json"
    assert resp.getheader("X-PREP-Corte") == "C7"


def test_notice_and_not_open_flags(site):
    site.cut("C1", {"index.html": "x"})
    (site.state_dir / "aviso.html").write_text("<p>Actualizaciones interrumpidas</p>")
    os.chmod(site.state_dir / "aviso.html", 0o644)
    site.start()
    (site.state_dir / "aviso").touch()
    resp, body = site.request("GET", "/")
    assert resp.status == 503 and b"interrumpidas" in body
    assert resp.getheader("Retry-After") == "600"
    assert resp.getheader("Cache-Control") == "no-store"
    # estado.json and the portal keep answering
    assert site.request("GET", "/estado.json")[0].status == 200
    assert site.request("GET", "/portal/")[0].status == 200
    (site.state_dir / "aviso").unlink()
    (site.state_dir / "por-abrir").touch()
    resp, body = site.request("GET", "/sub/page.html")
    assert resp.status == 503 and "aún no inicia".encode() in body
    (site.state_dir / "por-abrir").unlink()
    assert site.request("GET", "/")[0].status == 200


def test_error_pages_and_no_symlinks(site):
    site.cut("C1", {"index.html": "x"})
    (site.prep_root / "cortes/C1/fuga").symlink_to("/etc/hostname")
    site.start()
    resp, body = site.request("GET", "/no-existe.csv")
    assert resp.status == 404 and b"no encontrada" in body
    assert resp.getheader("X-PREP-Corte") == "C1"
    assert site.request("GET", "/fuga")[0].status in (403, 404)


def test_directories_and_missing_files(site):
    site.cut("C1", {"index.html": "raiz", "sub/index.html": "sub", "vacio/x.csv": "x"})
    site.start()
    assert site.request("GET", "/")[1] == b"raiz"
    assert site.request("GET", "/sub/")[1] == b"sub"
    resp, _ = site.request("GET", "/sub")
    assert resp.status == 301 and resp.getheader("Location").endswith("/sub/")
    assert resp.getheader("X-PREP-Corte") == "C1"
    assert site.request("GET", "/vacio/")[0].status == 403  # no index, no listing
    resp, body = site.request("GET", "/nada/")
    assert resp.status == 404 and b"no encontrada" in body


def test_portal_page(site):
    site.cut("C1", {"index.html": "x"})
    site.start()
    resp, body = site.request("GET", "/portal/")
    assert resp.status == 200 and b'<iframe id="prep" src="/"' in body
    csp = resp.getheader("Content-Security-Policy")
    assert "default-src 'none'" in csp and "frame-ancestors 'self' https://www.example.mx" in csp
    assert site.request("GET", "/portal/portal.js")[0].status == 200


def test_http_redirects_except_acme(site):
    site.cut("C1", {"index.html": "x"})
    site.start()
    resp, _ = site.request("GET", "/x?y=1", tls_on=False)
    assert resp.status == 301 and resp.getheader("Location") == "https://prep.lab.test/x?y=1"
    resp, body = site.request("GET", "/.well-known/acme-challenge/tok", tls_on=False)
    assert resp.status == 200 and body == b"tok.thumb"


def test_no_cut_yet(site):
    site.start()
    resp, _ = site.request("GET", "/")
    assert resp.status in (404, 503)
    assert site.request("GET", "/portal/")[0].status == 200


def test_rate_limit_429(tmp_path):
    srv = LocalNginx(tmp_path, make_config(tmp_path, tls_mode=None,
                                           rate_limits={"requests_per_s": 1, "burst": 2,
                                                        "connections": 10}))
    srv.cut("C1", {"index.html": "x"})
    srv.start()
    try:
        codes = [srv.request("GET", "/")[0].status for _ in range(8)]
        assert codes[:3] == [200, 200, 200] and 429 in codes
        resp, body = srv.request("GET", "/")
        assert resp.status == 429 and b"Demasiadas" in body
    finally:
        srv.stop()


def test_access_log_format(site):
    site.cut("C1", {"index.html": "x"})
    site.start()
    site.request("GET", "/", headers={"User-Agent": "ua-prueba"})
    site.stop()
    line = (site.root / "log/prep.access.log").read_text().splitlines()[-1]
    assert re.fullmatch(r'127\.0\.0\.1 - - \[[^]]+\] "GET / HTTP/1\.1" 200 1 "-" "ua-prueba" '
                        r'rt=\d+\.\d{3} host=prep\.lab\.test', line), line
