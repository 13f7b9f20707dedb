"""TLS for the public site: `acme` (certbot, HTTP-01 webroot), `files`, `lab-ca` (the lab's
CA, prep_iac/lab/ca.py).

Every mode ends with the same three files in TLS_DIR (fullchain.pem, privkey.pem,
ffdhe2048.pem), so the nginx site does not care where its certificate came from.
"""

import json
from io import StringIO

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.facts.files import File, Link
from pyinfra.facts.server import Command
from pyinfra.operations import apt, files, server, systemd
from pyinfra.operations.util import any_changed

from prep_iac import contract, paths
from prep_iac.components import distro, onhost
from prep_iac.components.common import config
from prep_iac.components.nginx import TLS_DIR
from prep_iac.contract import ACME_UNIT, ACME_WEBROOT
from prep_iac.inventory.hostconfig import HostConfig
from prep_iac.lab import ca as lab_ca
from prep_iac.onhost.acme import AcmeConfig
from prep_iac.onhost.common import settings_json

FULLCHAIN = f"{TLS_DIR}/fullchain.pem"
PRIVKEY = f"{TLS_DIR}/privkey.pem"
ACME_CERT_NAME = "prep"
ACME_LIVE = f"/etc/letsencrypt/live/{ACME_CERT_NAME}"
RENEW_HOOK = "/etc/letsencrypt/renewal-hooks/deploy/prep-nginx"
ACME_ISSUE = f"{onhost.SBIN}/prep-acme-issue"  # onhost's launcher of prep_iac/onhost/acme.py


# --- the deploy ------------------------------------------------------------------------------

def acme_config(cfg: HostConfig) -> AcmeConfig:
    """What prep-acme-issue reads (contract.ACME_CONFIG): the inventory's tls block. Values
    reach certbot as separate arguments, never through a shell."""
    tls = cfg.host.tls
    return AcmeConfig(names=list(cfg.host.server_names), email=tls.email, webroot=ACME_WEBROOT,
                      fullchain=FULLCHAIN, privkey=PRIVKEY, server=tls.acme_server,
                      ca_file=contract.ACME_CA_FILE if tls.acme_ca else None,
                      cert_name=ACME_CERT_NAME)


def _reload_nginx_if(*ops):
    # Only when nginx already runs with our site; a first deploy starts it in nginx.site().
    server.shell(name="reload nginx for the new certificate",
                 commands=[("if systemctl is-active --quiet nginx && nginx -t -q; "
                            "then systemctl reload nginx; fi")],
                 _if=any_changed(*ops))


def _no_acme():
    """A host that leaves mode acme: its timer would put certbot's certificate back, and the
    links into /etc/letsencrypt would take our files (a put follows a link, and finds it
    changed on every deploy): both go, so the pair below lands as plain files."""
    timer = ACME_UNIT.replace(".service", ".timer")
    if host.get_fact(File, path=f"/etc/systemd/system/{timer}"):
        server.shell(name="ACME left behind: its timer and units go", commands=[
            f"systemctl disable --now {timer} {ACME_UNIT} || true",
            f"rm -f /etc/systemd/system/{timer} /etc/systemd/system/{ACME_UNIT}",
            "systemctl daemon-reload"])
    for path in (FULLCHAIN, PRIVKEY):
        if host.get_fact(Link, path=path):
            files.link(name=f"{path}: a link into certbot's files goes", path=path,
                       present=False)


def _upload_pair(cert: str, key: str):
    return [files.put(name="TLS certificate (full chain)", src=cert, dest=FULLCHAIN,
                      user="root", group="root", mode="644"),
            files.put(name="TLS private key", src=key, dest=PRIVKEY,
                      user="root", group="root", mode="600")]


def _acme(cfg: HostConfig):
    """certbot from Debian, HTTP-01 through nginx's webroot, driven by prep-acme-issue
    (prep_iac/onhost/acme.py) from its own timer: one program issues and renews, so a failure
    is one line in one journal and in `verify`. Debian's certbot.timer is turned off: it
    would renew the same certificate without tls.acme_ca and report in another journal.

    Until the first certificate is issued nginx uses a self-signed one (ssl-cert's snakeoil),
    so the site and the challenge path are up for the ACME server to reach; acme_request(),
    the deploy's last step, asks for the certificate.
    """
    tls = cfg.host.tls
    apt.packages(name="certbot and ssl-cert", packages=distro.for_host()["acme_packages"], update=True, cache_time=3600)
    # certbot's own folders too: its sandboxed unit may write only folders that exist.
    for path, mode in ((contract.ACME_ETC, "755"), (contract.ACME_STATE_DIR, "755"),
                       ("/etc/letsencrypt", "755"), ("/var/lib/letsencrypt", "755"),
                       ("/var/log/letsencrypt", "700")):
        files.directory(name=f"directory {path}", path=path, user="root", group="root",
                        mode=mode)
    if tls.acme_ca:
        files.put(name="the ACME server's CA, for certbot", src=tls.acme_ca,
                  dest=contract.ACME_CA_FILE, user="root", group="root", mode="644")
    else:
        files.file(name="no private ACME CA", path=contract.ACME_CA_FILE, present=False)
    settings = files.put(name="prep-acme-issue's config", src=StringIO(settings_json(acme_config(cfg))),
                         dest=contract.ACME_CONFIG, user="root", group="root", mode="644")
    files.put(name="certbot deploy hook: reload nginx (for a certbot renew by hand)",
              src=paths.template("tls", "prep-nginx-hook.sh"), dest=RENEW_HOOK,
              create_remote_dir=True, user="root", group="root", mode="755")
    unit = files.template(name="prep-acme-issue.service",
                          src=paths.template("tls", "prep-acme-issue.service.j2"),
                          dest=f"/etc/systemd/system/{contract.ACME_UNIT}",
                          user="root", group="root", mode="644", issue=ACME_ISSUE)
    timer = files.put(name="prep-acme-issue.timer", src=paths.template("tls", "prep-acme-issue.timer"),
                      dest="/etc/systemd/system/prep-acme-issue.timer",
                      user="root", group="root", mode="644")
    # Placeholder pair, only if nothing is there yet (prep-acme-issue replaces the links).
    server.shell(name="self-signed placeholder until the first ACME certificate",
                 commands=[f"test -e {FULLCHAIN} || ln -sfn /etc/ssl/certs/ssl-cert-snakeoil.pem {FULLCHAIN}",
                           f"test -e {PRIVKEY} || ln -sfn /etc/ssl/private/ssl-cert-snakeoil.key {PRIVKEY}"],
                 _if=any_changed(settings))
    systemd.daemon_reload(name="systemd knows the ACME units", _if=any_changed(unit, timer))
    systemd.service(name="Debian's certbot.timer off: prep-acme-issue.timer renews",
                    service="certbot.timer", running=False, enabled=False)
    systemd.service(name="ACME timer: retries the first certificate, renews when due",
                    service="prep-acme-issue.timer", running=True, enabled=True)
    return []


@deploy("tls: certificates")
def certificates():
    cfg = config()
    tls = cfg.host.tls
    if tls is None:  # plain HTTP site: nothing to do
        return
    files.directory(name="TLS directory", path=TLS_DIR, user="root", group="root", mode="755")
    dh = files.put(name="Mozilla ffdhe2048 DH group", src=paths.template("tls", "ffdhe2048.pem"),
                   dest=f"{TLS_DIR}/ffdhe2048.pem", user="root", group="root", mode="644")
    if tls.mode != "acme":
        _no_acme()
    if tls.mode == "lab-ca":
        cert, key = lab_ca.ensure_cert(lab_ca.ca_dir(cfg.inventory_path), cfg.name,
                                        lab_ca.cert_names(cfg))
        changed = _upload_pair(str(cert), str(key))
    elif tls.mode == "files":
        changed = _upload_pair(tls.cert, tls.key)
    else:
        changed = _acme(cfg)
    _reload_nginx_if(dh, *changed)


@deploy("tls: the ACME certificate, once nginx serves the challenge path")
def acme_request():
    """tls mode acme: run prep-acme-issue now when the certificate in place was not asked for
    these names at this ACME server (first deploy, names changed), so the deploy's output
    ends with its result: a failure is its one `error: …; fix: …` line and a failed deploy.
    A second deploy finds the request done and changes nothing."""
    cfg = config()
    if cfg.host.tls is None or cfg.host.tls.mode != "acme":
        return
    done = host.get_fact(Command, command=f"cat {contract.ACME_REQUEST} 2>/dev/null || true")
    if _parsed(done) == acme_config(cfg).request():
        return
    server.shell(name="ACME certificate for the server names (prep-acme-issue)",
                 commands=[(f"systemctl start {contract.ACME_UNIT} || {{ "
                            f"cut -d' ' -f2- {contract.ACME_STATUS} >&2 || "
                            f"journalctl -u {contract.ACME_UNIT} -n 10 -o cat >&2; exit 1; }}")])


def _parsed(text: str | None):
    try:
        return json.loads(text or "")
    except ValueError:
        return None
