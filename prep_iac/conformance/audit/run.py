"""Run every outside check against one URL and build the report."""

from __future__ import annotations

import ssl
import time
from pathlib import Path
from urllib.parse import urlsplit

from prep_iac.conformance.aggregate import build_report
from prep_iac.conformance.audit import defenses, framing, link, manifest, ports, sftp, tls, web
from prep_iac.conformance.audit.common import Target, result
from prep_iac.conformance.audit.http import Client
from prep_iac.conformance.known import known_ids
from prep_iac.conformance.model import NO_CUMPLE, Command
from prep_iac.conformance.report import write_reports
from prep_iac.conformance.signature import sign_files, signer_for
from prep_iac.conformance.waivers import load_waivers
from prep_iac.errors import PrepError
from prep_iac.inventory import load_inventory


def normalize(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PrepError(f"{url!r} is not an http(s) URL", "give the PREP's public address, "
                        "e.g. https://prep.example.mx/")
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return f"{parts.scheme}://{parts.netloc}{path}"


def find_difusor(inventory, url: str):
    """The registry entry for ``url``: by public_url, then server name, then address."""
    host = urlsplit(url).hostname
    for name, d in inventory.difusores.items():
        if d.public_url and normalize(d.public_url) == url:
            return name, d
    for name, d in inventory.difusores.items():
        if host in d.server_names or host == d.address:
            return name, d
    return None, None


def parse_ssh(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise PrepError(f"--ssh {text!r} is not HOST:PORT", "e.g. --ssh prep.example.mx:22")
    return host.strip("[]"), int(port)


def ssl_context(ca_file: str | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    if ca_file:
        try:
            ctx.load_verify_locations(cafile=ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise PrepError(f"cannot load CA {ca_file}: {exc}", "give a PEM CA file") from None
    return ctx


def read_signers(path: str) -> list[str]:
    lines = Path(path).read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def build_target(url: str, *, registry: str | None = None, portals=(), manifest_path=None,
                 signature=None, signers_file=None, ssh=None, ca_file=None, sample=None,
                 seed=0) -> tuple[Target, str | None]:
    url = normalize(url)
    ctx = ssl_context(ca_file)
    target = Target(url=url, host_label=urlsplit(url).hostname, client=Client(ctx), context=ctx,
                    sample=sample, seed=seed)
    name = None
    if registry:
        inventory = load_inventory(registry)
        name, difusor = find_difusor(inventory, url)
        if difusor is None:
            raise PrepError(f"{url} is not a difusor of {registry}",
                            "match a difusor's public_url, server_names or address")
        target.host_label = name
        target.portal_origins = list(difusor.portal_origins)
        target.host_key = difusor.host_key
        target.link_mbps = difusor.link_mbps
        target.rate_limits = (difusor.rate_limits.requests_per_s, difusor.rate_limits.burst)
        target.period_s = inventory.iec.period_s
        target.signers = list(inventory.iec.signers)
        target.ssh = (difusor.address, difusor.ssh_port)
    if portals:
        target.portal_origins = list(portals)
    if signers_file:
        target.signers = read_signers(signers_file)
    if ssh:
        target.ssh = parse_ssh(ssh)
    if manifest_path:
        target.manifest = Path(manifest_path)
        target.signature = Path(signature) if signature else Path(str(manifest_path) + ".sig")
    parts = urlsplit(url)
    own = parts.port or (443 if parts.scheme == "https" else 80)
    target.expected_ports = {80, 443, own} | ({target.ssh[1]} if target.ssh else {22})
    return target, name


def _guarded(target: Target, checks: list[str], run) -> list:
    """A check that cannot even run (refused connection, timeout) fails with the reason."""
    try:
        return run()
    except (OSError, ValueError) as exc:
        return [result(target, c, NO_CUMPLE, f"no se pudo comprobar: {type(exc).__name__}: {exc}",
                       [Command(f"conexión a {target.url}", None, str(exc))]) for c in checks]


def follow_https(target: Target) -> None:
    """A PREP that redirects http:// to https:// on the same host is audited over https."""
    try:
        final = urlsplit(target.page().url)
    except (OSError, ValueError):
        return
    start = urlsplit(target.url)
    if start.scheme == "http" and final.scheme == "https" and final.hostname == start.hostname:
        port = f":{final.port}" if final.port else ""
        target.url = f"https://{final.hostname}{port}{start.path}"
        target.cache.pop("estado", None)


def run_checks(target: Target) -> list:
    follow_https(target)
    results = []
    results += _guarded(target, ["audit::sitio_disponible"], lambda: web.sitio_disponible(target))
    results += _guarded(target, ["audit::acceso_libre"], lambda: web.acceso_libre(target))
    verified = {}

    def _manifest():
        found, verified["m"] = manifest.check(target)
        files = next(r for r in found if r.check == "audit::archivos_identicos")
        return [*found, manifest.own_format(target, files)]
    results += _guarded(target, ["audit::manifiesto_firmado", "audit::archivos_identicos",
                                 "audit::formato_del_iec"], _manifest)
    latest = verified["m"].cut_id if verified.get("m") else None
    results += _guarded(target, ["audit::corte_vigente"], lambda: web.corte_vigente(target, latest))
    results += _guarded(target, ["audit::cabecera_corte"], lambda: web.cabecera_corte(target))
    results += _guarded(target, ["audit::marcos"], lambda: framing.check(target))
    results += _guarded(target, ["audit::cabeceras_seguridad"],
                        lambda: web.cabeceras_seguridad(target))
    results += _guarded(target, ["audit::tls_protocolos", "audit::tls_cifrados",
                                 "audit::tls_certificado"], lambda: tls.check(target))
    results += _guarded(target, ["audit::puertos"], lambda: ports.check(target))
    results += _guarded(target, ["audit::sftp_clave_host"], lambda: sftp.check(target))
    results += _guarded(target, ["audit::enlace"], lambda: link.check(target, verified.get("m")))
    results += _guarded(target, ["audit::filtro_web"], lambda: defenses.web_filter(target))
    # Last: the burst meets the limit on purpose; nothing after it must read its 429s.
    results += _guarded(target, ["audit::limite_solicitudes"],
                        lambda: defenses.request_limit(target))
    return results


def audit(url: str, out_dir=None, waivers_path=None, pentest_path=None, strict: bool = True,
          report_key: Path | None = None, **options) -> tuple[dict, dict]:
    """Audit ``url``; `pentest_path`: the difusor's own `pentest`/`continuidad` reports, whose
    CONV-IV.3 rows join the report. The report is signed with ``report_key`` (the audited
    difusor's, as the inventory given with ``registry`` names it)."""
    started = time.monotonic()
    target, name = build_target(url, **options)
    registry = options.get("registry")
    inventory = load_inventory(registry) if registry else None
    signer = None
    if report_key:
        if inventory is None:
            raise PrepError("signing an audit needs the inventory that names the difusor "
                            "and its report_key", "add -i INVENTORY")
        signer = signer_for(report_key, {name: inventory.difusores[name]})
    waivers = load_waivers(
        waivers_path, known_ids(), {target.host_label},
        signers=list(inventory.iec.waiver_signers) if inventory else None,
        process=inventory.iec.process if inventory else None) if waivers_path else []
    try:
        results = run_checks(target)
    finally:
        target.client.close()
    if pentest_path:  # the difusor's own penetration and continuity tests: CONV-IV.3 rows
        from prep_iac.pentest.run import load_rows

        results += load_rows(pentest_path, lambda url: target.host_label)
    meta = {"objetivo": target.url, "registro": registry,
            "segundos": round(time.monotonic() - started, 1)}
    if signer:
        meta["firma"] = {"difusor": signer, "llave": inventory.difusores[signer].report_key}
    report = build_report("audit", [target.host_label], results, waivers, meta, strict=strict)
    paths = write_reports(report, Path(out_dir) if out_dir else Path("auditoria"))
    if report_key:
        paths.update(sign_files(dict(paths), report_key))
    return report, paths
