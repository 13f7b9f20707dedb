"""Outside checks against local stand-ins on 127.0.0.1: each fault is caught by the right
check, with evidence naming the cause."""

import datetime as dt
import json
import subprocess
from pathlib import Path

import paramiko
import pytest
from conformance_servers import Site, SshKeyServer, self_signed, server_tls
from stamps import stamp

from prep_iac.conformance.audit import defenses, framing, link, manifest, sftp, tls, web
from prep_iac.conformance.audit.run import build_target
from prep_iac.conformance.model import CUMPLE, MANUAL, NO_APLICA, NO_CUMPLE
from prep_iac.onhost.publisher import signing
from prep_iac.onhost.publisher.manifest import build

CUT = "20210606_2000_PREP_AYUN_COAH"
CUT_TIME = "2021-06-06T20:00:00-05:00"  # the site here is hand-made, no PREP cut
GOOD_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'self' http://portal.lab",
    "X-PREP-Corte": CUT, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
}


@pytest.fixture(autouse=True)
def fast_pacing(monkeypatch):
    # Loopback has no firewall to spare: no need to pace connections here.
    from prep_iac.conformance.audit.pacing import PACER, REQUESTS
    monkeypatch.setattr(PACER, "interval", 0.0)
    monkeypatch.setattr(REQUESTS, "interval", 0.0)


def estado(root: Path, state="publicando", minutes_ago=2, cut=CUT, **more):
    activado = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes_ago)
    (root / "estado.json").write_text(json.dumps({
        "corte": cut, "corte_fecha_hora": "2021-06-06T20:00:00-05:00",
        "activado": activado.isoformat(), "periodo_s": 600, "estado": state, **more}))


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "www"
    (root / "datos").mkdir(parents=True)
    (root / "index.html").write_text("<html>PREP 06/06/2021 20:00</html>")
    (root / "datos" / "COAH_AYUN_2021.csv").write_bytes(b"AYUNTAMIENTOS\n" * 5000)
    estado(root)
    s = Site(root)
    s.headers.update(GOOD_HEADERS)
    yield s
    s.close()


def target(site, **kw):
    kw.setdefault("portals", ["http://portal.lab"])
    t, _ = build_target(site.url, **kw)
    return t


def one(results):
    assert len(results) == 1
    return results[0]


def test_clean_site(site):
    t = target(site)
    assert one(web.sitio_disponible(t)).status == CUMPLE
    assert one(web.acceso_libre(t)).status == CUMPLE
    assert one(web.cabecera_corte(t)).status == CUMPLE
    assert one(web.corte_vigente(t)).status == CUMPLE
    assert one(web.cabeceras_seguridad(t)).status == CUMPLE
    ok = one(framing.check(t))
    assert ok.status == CUMPLE and ok.requirements == ["CONV-I.6"]
    assert "frame-ancestors 'self' http://portal.lab" in ok.evidence[0].output


@pytest.mark.parametrize("route, headers, cause", [
    ("/", {"Set-Cookie": "sesion=1; Path=/"}, "pone cookies: sesion=1"),
    ("/", {"WWW-Authenticate": "Basic realm=prep"}, "pide autenticación"),
])
def test_not_free(site, route, headers, cause):
    site.headers.update(headers)
    r = one(web.acceso_libre(target(site)))
    assert r.status == NO_CUMPLE and cause in r.detail and r.requirements == ["CONV-I.2"]


def test_login_redirect(site):
    site.routes["/"] = (302, {"Location": "/login?next=/"})
    site.routes["/login?next=/"] = (200, {})
    r = one(web.acceso_libre(target(site)))
    assert r.status == NO_CUMPLE and "redirige a un inicio de sesión (302" in r.detail


def test_unauthorized(site):
    site.routes["/"] = (401, {"WWW-Authenticate": "Basic"})
    r = one(web.acceso_libre(target(site)))
    assert r.status == NO_CUMPLE and "respondió 401" in r.detail


@pytest.mark.parametrize("csp, xfo, cause", [
    (None, None, "no hay Content-Security-Policy frame-ancestors"),
    ("frame-ancestors *", None, "cualquier origen (*)"),
    ("frame-ancestors 'self'", None, "no permite el portal declarado http://portal.lab"),
    ("frame-ancestors 'self' http://portal.lab https://otro.example", None,
     "orígenes no declarados: https://otro.example"),
    ("frame-ancestors http://portal.lab", "DENY", "X-Frame-Options: DENY"),
    ("frame-ancestors https:", None, "cualquier origen (https:)"),
])
def test_framing_faults(site, csp, xfo, cause):
    site.headers.pop("Content-Security-Policy")
    if csp:
        site.headers["Content-Security-Policy"] = csp
    if xfo:
        site.headers["X-Frame-Options"] = xfo
    r = one(framing.check(target(site)))
    assert r.status == NO_CUMPLE and cause in r.detail, r.detail


def test_framing_without_declared_origins_is_manual(site):
    t, _ = build_target(site.url)
    assert one(framing.check(t)).status == MANUAL


def test_csp_parsing():
    d = framing.csp_directives([("default-src 'self'; frame-ancestors 'self' https://a.mx;"
                                 "frame-ancestors *")])
    assert d["frame-ancestors"] == ["'self'", "https://a.mx"]  # the first of a repeat counts
    two = framing.csp_directives(["frame-ancestors https://a.mx https://b.mx",
                                  "frame-ancestors https://b.mx"])
    assert two["frame-ancestors"] == ["https://b.mx"]  # every policy must allow it
    src = ["'self'", "https://*.example.mx", "portal.lab:8080"]
    me = "http://prep.lab/"
    assert framing.allows(src, "https://www.example.mx", me)
    assert not framing.allows(src, "http://www.example.mx", me)
    assert framing.allows(src, "http://portal.lab:8080", me)
    assert not framing.allows(src, "http://portal.lab", me)
    assert framing.allows(src, "http://prep.lab", me)
    assert not framing.allows(["'none'"], "http://prep.lab", me)


def test_stale_cut(site):
    estado(site.root, minutes_ago=45)
    r = one(web.corte_vigente(target(site)))
    assert r.status == NO_CUMPLE and r.requirements == ["CONV-I.10"]
    assert "corte vencido" in r.detail and "hace 45 min" in r.detail


def test_a_cut_signed_long_ago_is_stale_however_recently_it_arrived(site):
    signed = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=50)).isoformat()
    estado(site.root, minutes_ago=1, emitido=signed)
    r = one(web.corte_vigente(target(site)))
    assert r.status == NO_CUMPLE and "hace 50 min" in r.detail


def test_the_final_cut_stays_current_after_the_close(site):
    estado(site.root, state="concluido", minutes_ago=600, final=True)
    r = one(web.corte_vigente(target(site)))
    assert r.status == CUMPLE and "PREP concluido" in r.detail
    # "concluido" without the signed final mark is a stale cut like any other
    estado(site.root, state="concluido", minutes_ago=600)
    assert one(web.corte_vigente(target(site))).status == NO_CUMPLE


def test_notice_on(site):
    estado(site.root, state="aviso")
    site.routes["/"] = (503, {"Retry-After": "60"})
    r = one(web.corte_vigente(target(site)))
    assert r.status == NO_CUMPLE and "aviso de interrupción" in r.detail
    # The notice page itself is the site working: free and up, only the cut is not current.
    assert one(web.acceso_libre(target(site))).status == CUMPLE
    assert one(web.sitio_disponible(target(site))).status == CUMPLE


def test_503_while_publishing_is_down(site):
    site.routes["/"] = (503, {})
    r = one(web.sitio_disponible(target(site)))
    assert r.status == NO_CUMPLE and "respondió 503" in r.detail


def test_before_opening_is_not_applicable(site):
    estado(site.root, state="por-abrir")
    assert one(web.corte_vigente(target(site))).status == NO_APLICA
    assert one(web.sitio_disponible(target(site))).status == CUMPLE


def test_cut_header_missing_or_inconsistent(site):
    site.headers.pop("X-PREP-Corte")
    r = one(web.cabecera_corte(target(site)))
    assert r.status == NO_CUMPLE and "no trae la cabecera X-PREP-Corte" in r.detail
    site.headers["X-PREP-Corte"] = "20210606_1950_PREP_AYUN_COAH"
    r = one(web.cabecera_corte(target(site)))
    assert r.status == NO_CUMPLE and "no coincide con estado.json" in r.detail
    site.headers["X-PREP-Corte"] = "2021-06-06T20:00:00-05:00"
    assert one(web.cabecera_corte(target(site))).status == CUMPLE


def test_cut_header_is_compared_with_an_estado_json_of_the_same_moment(site):
    """On a live night the responses other checks cached may be a period old: the header is
    compared with an estado.json fetched beside it, not with a cut already replaced."""
    t = target(site)
    t.page(), t.estado()  # earlier checks read both at 20:00
    later = "20210606_2010_PREP_AYUN_COAH"
    estado(site.root, cut=later, corte_fecha_hora="2021-06-06T20:10:00-05:00")
    site.headers["X-PREP-Corte"] = later
    r = one(web.cabecera_corte(t))
    assert r.status == CUMPLE and later in r.detail


def test_security_headers(site):
    site.headers.pop("X-Content-Type-Options")
    site.headers["Server"] = "nginx/1.22.1"
    r = one(web.cabeceras_seguridad(target(site)))
    assert r.status == NO_CUMPLE and "nosniff" in r.detail


# ---- the IEC's signed manifest -------------------------------------------------------
@pytest.fixture(scope="module")
def iec_key(tmp_path_factory):
    d = tmp_path_factory.mktemp("iec")
    for name in ("firma", "otra"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / name)],
                       check=True)
    return d


def signed_manifest(site, keys, key="firma"):
    m = build(site.root, cut_id=CUT, timestamp=CUT_TIME).stamped(stamp())
    path = site.root.parent / "manifiesto.json"
    path.write_bytes(m.to_bytes())
    Path(str(path) + ".sig").write_bytes(signing.sign(m.to_bytes(), keys / key))
    return path, [(keys / "firma.pub").read_text().strip()]


def test_manifest_verified_and_files_identical(site, iec_key):
    path, signers = signed_manifest(site, iec_key)
    t = target(site, manifest_path=path)
    t.signers = signers
    results, verified = manifest.check(t)
    assert [r.status for r in results] == [CUMPLE, CUMPLE], [r.detail for r in results]
    assert verified.cut_id == CUT
    assert "ssh-keygen -Y verify" in results[0].evidence[0].command
    assert one(web.corte_vigente(t, verified.cut_id)).status == CUMPLE
    assert one(web.corte_vigente(t, "20210606_2010_PREP_AYUN_COAH")).status == NO_CUMPLE


def test_changed_file_is_named(site, iec_key):
    path, signers = signed_manifest(site, iec_key)
    (site.root / "datos" / "COAH_AYUN_2021.csv").write_bytes(b"AYUNTAMIENTOS\nalterado\n")
    t = target(site, manifest_path=path)
    t.signers = signers
    results, _ = manifest.check(t)
    files = results[1]
    assert files.status == NO_CUMPLE and files.requirements == ["CONV-I.3"]
    assert "datos/COAH_AYUN_2021.csv: sha256" in files.detail
    # Not the IEC's files: CONV-I.3 fails; CONV-I.3b owes the authorization of an own
    # format, never counted as a second failure.
    own = manifest.own_format(t, files)
    assert own.status == MANUAL and own.requirements == ["CONV-I.3b"]
    assert "autorización previa del IEC" in own.detail


def test_the_iecs_files_mean_no_own_format(site, iec_key):
    path, signers = signed_manifest(site, iec_key)
    t = target(site, manifest_path=path)
    t.signers = signers
    results, _ = manifest.check(t)
    assert manifest.own_format(t, results[1]).status == CUMPLE


def test_sample_with_seed(site, iec_key):
    path, signers = signed_manifest(site, iec_key)
    t = target(site, manifest_path=path, sample=1, seed=7)
    t.signers = signers
    results, _ = manifest.check(t)
    assert results[1].status == CUMPLE and "una muestra de 1 de" in results[1].detail


def test_files_not_compared_while_the_notice_is_on(site, iec_key):
    path, signers = signed_manifest(site, iec_key)
    estado(site.root, state="aviso")
    t = target(site, manifest_path=path)
    t.signers = signers
    results, _ = manifest.check(t)
    assert results[1].status == NO_APLICA and "estado aviso" in results[1].detail


def test_notice_going_up_while_files_are_fetched_is_not_a_changed_file(site, iec_key):
    """The state is read first (and kept for every check); the watchdog may switch to the
    notice before the files are fetched. A 503 then re-reads the state instead of failing
    CONV-I.3; a 503 while still publishing stays a failure."""
    path, signers = signed_manifest(site, iec_key)
    estado(site.root, state="publicando")
    t = target(site, manifest_path=path)
    t.signers = signers
    t.estado()  # read while publishing
    for entry in build(site.root, cut_id=CUT, timestamp=CUT_TIME).entries:
        if entry.path != "estado.json":  # nginx serves estado.json under the notice too
            site.routes["/" + entry.path] = (503, {"Retry-After": "60"})
    results, _ = manifest.check(t)
    assert results[1].status == NO_CUMPLE and "HTTP 503" in results[1].detail
    estado(site.root, state="aviso")  # the watchdog put the notice up meanwhile
    results, _ = manifest.check(t)
    assert results[1].status == NO_APLICA and "estado aviso" in results[1].detail


def test_signature_by_another_key(site, iec_key):
    path, signers = signed_manifest(site, iec_key, key="otra")
    t = target(site, manifest_path=path)
    t.signers = signers
    results, verified = manifest.check(t)
    assert results[0].status == NO_CUMPLE and "no es de una clave del IEC" in results[0].detail
    assert results[1].status == NO_CUMPLE and verified is None


def test_without_manifest_asks_for_it(site):
    results, _ = manifest.check(target(site))
    assert [r.status for r in results] == [MANUAL, MANUAL]


def test_link_measures_and_sizes_the_cut(site, monkeypatch):
    monkeypatch.setattr(link, "DURATION_S", 0.5)
    t = target(site)
    m = build(site.root, cut_id=CUT, timestamp=CUT_TIME)
    r = one(link.check(t, m))
    assert r.requirements == ["CONV-II.b.1"] and "Mbps" in r.evidence[0].output
    assert r.status in (CUMPLE, MANUAL)  # loopback speed depends on this machine's load
    t.link_mbps, t.period_s = 1, 5  # ~70 KB cross 1 Mbps in ~0.6 s: within half of 5 s
    assert one(link.check(t, m)).status in (CUMPLE, MANUAL)
    big = type(m)(m.cut_id, m.timestamp, m.entries * 2000)
    r = one(link.check(t, big))
    assert r.status == NO_CUMPLE and "más de la mitad del periodo" in r.detail


# ---- TLS -------------------------------------------------------------------------------
@pytest.fixture
def tls_site(tmp_path):
    cert, key = self_signed(tmp_path)
    sites = []

    def make(ciphers=None, names=("127.0.0.1",)):
        c, k = (cert, key) if names == ("127.0.0.1",) else self_signed(tmp_path, names)
        root = tmp_path / "tls"
        root.mkdir(exist_ok=True)
        estado(root)
        s = Site(root, server_tls(c, k, ciphers))
        sites.append(s)
        return s, cert
    yield make
    for s in sites:
        s.close()


def tls_results(site, ca):
    t, _ = build_target(site.url, ca_file=str(ca))
    return {r.check: r for r in tls.check(t)}


def test_tls_modern(tls_site):
    s, ca = tls_site("ECDHE+AESGCM:ECDHE+CHACHA20")
    r = tls_results(s, ca)
    assert r["audit::tls_protocolos"].status == CUMPLE
    assert "TLSv1.1: " in r["audit::tls_protocolos"].evidence[0].output
    assert r["audit::tls_cifrados"].status == CUMPLE, r["audit::tls_cifrados"].detail
    assert r["audit::tls_certificado"].status == CUMPLE


def test_tls_cbc_ciphers_are_weak(tls_site):
    s, ca = tls_site("ECDHE+AESGCM:ECDHE+AES")
    r = tls_results(s, ca)["audit::tls_cifrados"]
    assert r.status == NO_CUMPLE and "no AEAD (CBC)" in r.detail


def test_tls_wrong_name(tls_site, tmp_path):
    s, _ = tls_site(names=("prep.example.mx",))
    r = tls_results(s, tmp_path / "cert.pem")["audit::tls_certificado"]
    assert r.status == NO_CUMPLE and "no válido para 127.0.0.1" in r.detail


def test_plain_http_without_443(site):
    # Only when nothing listens on 127.0.0.1:443 (this machine's own services aside).
    if tls.reachable("127.0.0.1", 443)[0]:
        pytest.skip("something listens on 127.0.0.1:443 here")
    results = tls.check(target(site))
    assert {r.status for r in results} == {NO_CUMPLE}
    assert "sin HTTPS" in results[0].detail and results[0].requirements == ["INF-tls"]


# ---- SFTP host key ---------------------------------------------------------------------
def test_sftp_host_key(site):
    key = paramiko.Ed25519Key.from_private_key_file(str(_ed25519(site.root.parent)))
    server = SshKeyServer(key)
    try:
        t = target(site, ssh=f"127.0.0.1:{server.port}")
        t.host_key = f"ssh-ed25519 {key.get_base64()}"
        r = one(sftp.check(t))
        assert r.status == CUMPLE and r.requirements == ["CONV-II.a.1"]
        other = paramiko.Ed25519Key.from_private_key_file(str(_ed25519(site.root.parent, "b")))
        t.host_key = f"ssh-ed25519 {other.get_base64()}"
        r = one(sftp.check(t))
        assert r.status == NO_CUMPLE and "no es la registrada" in r.detail
        t.host_key = None
        assert one(sftp.check(t)).status == MANUAL
    finally:
        server.close()


def _ed25519(d: Path, name="hk") -> Path:
    path = d / name
    if not path.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-m", "PEM", "-f",
                        str(path)], check=True)
    return path


# ---- the whole command -----------------------------------------------------------------
def test_audit_command_exit_codes(site, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from prep_iac.conformance.cli import audit

    monkeypatch.setattr(link, "DURATION_S", 0.3)
    monkeypatch.setattr(defenses, "MAX_BURST_S", 0.5)
    monkeypatch.setattr(defenses, "UNKNOWN_REFILL_S", 0.1)
    # The stand-in refuses the web-attack probes by path (it cannot read user agents).
    attacks = [a for a in defenses.ATTACKS if not a[2]]
    monkeypatch.setattr(defenses, "ATTACKS", attacks)
    for _what, rest, _headers, method in attacks:
        if method == "GET":
            site.routes["/" + rest] = (403, {})
    out = tmp_path / "out"
    args = [site.url, "--portal", "http://portal.lab", "--out", str(out)]
    result = CliRunner().invoke(audit, args)
    report = json.loads((out / "conformance.json").read_text())
    # Plain HTTP on loopback: TLS fails, an informative row (the call does not ask for it);
    # no mandatory requirement fails, but the audit without --manifest or -i owes evidence
    # (the manifest's signature, the link), so the Institute's strict mode fails it.
    assert report["incumplidos"] == [], report["incumplidos"]
    assert next(r for r in report["requisitos"] if r["id"] == "INF-tls")["estado"] == "no cumple"
    assert "CONV-I.3" in report["evidencia_pendiente"]
    assert result.exit_code == 1 and "evidencia pendiente (modo estricto)" in result.output
    # A working run reports the same and exits 0.
    result = CliRunner().invoke(audit, [*args, "--no-estricto"])
    assert result.exit_code == 0, result.output
    assert "--no-estricto: el IEC no aceptará este informe" in " ".join(result.output.split())
    # A waiver nobody signed is shown as such and changes nothing.
    waivers = tmp_path / "w.yml"
    waivers.write_text("waivers:\n- {id: CONV-I.3, reason: sin manifiesto en la prueba, "
                       "owner: pruebas, expires: 2099-01-01}\n")
    result = CliRunner().invoke(audit, [*args, "--waivers", str(waivers)])
    assert result.exit_code == 1 and "dispensa sin firma" in result.output
    report = json.loads((out / "conformance.json").read_text())
    assert report["dispensas"][0]["estado"] == "sin firma"
    assert "CONV-I.3" in report["evidencia_pendiente"]
    # --json: the report on stdout (UTF-8, accents as they are), the same exit code
    result = CliRunner().invoke(audit, [*args, "--json"])
    assert result.exit_code == 1
    printed = json.loads(result.stdout)
    assert printed["incumplidos"] == []
    assert printed == json.loads((out / "conformance.json").read_text())
    assert "ó" in result.stdout and "\\u00f3" not in result.stdout
