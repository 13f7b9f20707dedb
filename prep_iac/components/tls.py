"""TLS for the public site: `acme` (certbot, HTTP-01 webroot), `files`, `lab-ca` (the lab's
CA, prep_iac/lab/ca.py).

Every mode ends with the same three files in TLS_DIR (fullchain.pem, privkey.pem,
ffdhe2048.pem), so the nginx site does not care where its certificate came from.
"""

import shlex

from pyinfra.api import deploy
from pyinfra.operations import apt, files, server, systemd
from pyinfra.operations.util import any_changed

from prep_iac import paths
from prep_iac.components import distro
from prep_iac.components.common import config
from prep_iac.components.nginx import TLS_DIR
from prep_iac.contract import ACME_WEBROOT
from prep_iac.inventory.hostconfig import HostConfig
from prep_iac.lab import ca as lab_ca

FULLCHAIN = f"{TLS_DIR}/fullchain.pem"
PRIVKEY = f"{TLS_DIR}/privkey.pem"
ACME_CERT_NAME = "prep"
ACME_LIVE = f"/etc/letsencrypt/live/{ACME_CERT_NAME}"
RENEW_HOOK = "/etc/letsencrypt/renewal-hooks/deploy/prep-nginx"
ACME_ISSUE = "/usr/local/sbin/prep-acme-issue"


# --- the deploy ------------------------------------------------------------------------------

def acme_issue_context(names: list[str], email: str) -> dict:
    """prep-acme-issue.sh.j2's context: every value shell-quoted, for a root script. The
    inventory already refuses names and addresses with shell characters; this is the second
    line of defence."""
    q = shlex.quote
    return {"names_sh": [q(n) for n in names], "email_sh": q(email),
            "webroot_sh": q(ACME_WEBROOT), "cert_name_sh": q(ACME_CERT_NAME),
            "live_sh": q(ACME_LIVE), "fullchain_sh": q(FULLCHAIN), "privkey_sh": q(PRIVKEY)}


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
                           **acme_issue_context(d.server_names, d.tls.email))
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
        cert, key = lab_ca.ensure_cert(lab_ca.ca_dir(cfg.inventory_path), cfg.name,
                                        lab_ca.cert_names(cfg))
        changed = _upload_pair(str(cert), str(key))
    elif tls.mode == "files":
        changed = _upload_pair(tls.cert, tls.key)
    else:
        changed = _acme(cfg)
    _reload_nginx_if(dh, *changed)
