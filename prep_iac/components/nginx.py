"""nginx serving the PREP (CONV-I.1, I.2, I.6, I.10): the site, the portal page, its own pages.

Config goes to a staging copy first; `prep-nginx-apply` puts it live only if `nginx -t`
accepts it (else the running config stays and the deploy fails with nginx's message).
"""

import re

from pyinfra.api import deploy
from pyinfra.operations import apt, files, server, systemd
from pyinfra.operations.util import any_changed

from prep_iac import contract, paths
from prep_iac.components import conffiles, converge, distro
from prep_iac.components.common import config
from prep_iac.contract import ACME_WEBROOT, PREP_ROOT, WATCHDOG_STATE_DIR, WEB_ROOT
from prep_iac.inventory.hostconfig import HostConfig

# The web tier's own places (the shared ones are in prep_iac/contract.py).
TLS_DIR = "/etc/ssl/prep"                   # fullchain.pem, privkey.pem, ffdhe2048.pem
SNIPPETS_DIR = "/etc/nginx/prep.d"          # other components' server-level snippets
STAGING = "/etc/nginx/prep-staging"
APPLY = "/usr/local/sbin/prep-nginx-apply"
ACCESS_LOG = contract.ACCESS_LOG

# template -> path under /etc/nginx
CONFIG_FILES = {
    "nginx.conf.j2": "nginx.conf",
    "prep-http.conf.j2": "conf.d/prep-http.conf",
    "prep-servers.conf.j2": "sites-enabled/prep.conf",     # the server blocks (80, 443)
    "prep-server-body.conf.j2": "prep/sitio.conf",         # included in each of them
}
# template (templates/portal/) -> path under WEB_ROOT
PAGES = {
    "index.html.j2": "portal/index.html",
    "portal.js": "portal/portal.js",
    "prep.css": "portal/prep.css",
    "404.html.j2": "paginas/404.html",
    "405.html.j2": "paginas/405.html",
    "429.html.j2": "paginas/429.html",
    "5xx.html.j2": "paginas/5xx.html",
    "por-abrir.html.j2": "paginas/por-abrir.html",
}

MESES = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
         "septiembre", "octubre", "noviembre", "diciembre"]


# nginx has no escape for '$' (a variable) and ends a bare word at ';', '{' or a space.
_NGINX_WORD = re.compile(r"[A-Za-z0-9._:*\[\]-]+")
_NGINX_QUOTED_BAD = re.compile(r'["\\$\x00-\x1f\x7f]')


def nginx_word(value: str) -> str:
    """A value written bare in nginx's config (server_name): plain characters only."""
    if not _NGINX_WORD.fullmatch(value):
        raise ValueError(f"{value!r} cannot be written bare in nginx's config")
    return value


def nginx_in_quotes(value: str) -> str:
    """A value written inside "..." in nginx's config: no quote, backslash, '$' or control
    (the inventory's types refuse them already; this keeps a template honest)."""
    if _NGINX_QUOTED_BAD.search(value):
        raise ValueError(f"{value!r} cannot be written inside quotes in nginx's config")
    return value


def frame_ancestors(origins: list[str]) -> str:
    return nginx_in_quotes(" ".join(["'self'", *origins]))


def fecha_larga(dt) -> str:
    """'6 de junio de 2021, 18:00 (America/Monterrey)' — for pages read by the public."""
    return f"{dt.day} de {MESES[dt.month - 1]} de {dt.year}, {dt:%H:%M} ({dt.tzinfo.key})"



def organization(cfg) -> str:
    """Who the pages say serves the PREP: the host's organization, else the inventory's
    participation (a difusor's own inventory names it once), else the first server name."""
    part = cfg.inventory.participation
    return cfg.host.organization or (part.organization if part else cfg.host.server_names[0])

def context(cfg: HostConfig, http2_on: bool = False) -> dict:
    """Everything the nginx and page templates need, from the typed inventory."""
    d, iec = cfg.host, cfg.iec
    return {
        "access_log": ACCESS_LOG,
        "server_names": [nginx_word(n) for n in d.server_names],
        "tls": d.tls is not None,
        "limits": d.rate_limits,
        "frame_ancestors": frame_ancestors(d.portal_origins),
        "retry_after": iec.period_s,
        "http2_on": http2_on,
        "prep_root": PREP_ROOT, "web_root": WEB_ROOT, "state_dir": WATCHDOG_STATE_DIR,
        "acme_webroot": ACME_WEBROOT, "tls_dir": TLS_DIR,
        "organization": organization(cfg),
        "official_url": iec.official_url,
        "opens": fecha_larga(iec.window.opens_at),
        "closes": fecha_larga(iec.window.closes_at),
        "period_s": iec.period_s,
    }


@deploy("nginx: the portal's pages")
def pages():
    """Static pages nginx serves as they are (no reload). They show the publication window,
    so deploys/calendar.py writes them too."""
    ctx = context(config())
    for d in (WEB_ROOT, f"{WEB_ROOT}/portal", f"{WEB_ROOT}/paginas"):
        files.directory(name=f"directory {d}", path=d, user="root", group="root", mode="755")
    for tpl, rel in PAGES.items():
        files.template(name=f"page {rel}", src=paths.template("portal", tpl),
                       dest=f"{WEB_ROOT}/{rel}", user="root", group="root", mode="644", **ctx)


@deploy("nginx: PREP site")
def site():
    cfg = config()
    dist = distro.for_host()
    ctx = context(cfg, http2_on=dist["nginx_http2_directive"])

    apt.packages(name="nginx from the distribution", packages=dist["nginx_packages"],
                 update=True, cache_time=3600)

    # Only created if missing: the activator owns /srv/prep's contents and modes.
    files.directory(name="PREP root", path=PREP_ROOT, present=True)
    for d in ("/var/lib/prep-web", ACME_WEBROOT, SNIPPETS_DIR):
        files.directory(name=f"directory {d}", path=d, user="root", group="root", mode="755")
    pages()

    # nginx.conf holds `events`, which no include may repeat: ours, Debian's diverted.
    conffiles.diverted("/etc/nginx/nginx.conf")
    files.directory(name="nginx staging", path=STAGING, user="root", group="root", mode="700")
    apply = files.put(name="prep-nginx-apply", src=paths.template("nginx", "prep-nginx-apply.sh"),
                      dest=APPLY, user="root", group="root", mode="755")
    staged = [files.template(name=f"stage {rel}", src=paths.template("nginx", tpl),
                             dest=f"{STAGING}/{rel}", create_remote_dir=True,
                             user="root", group="root", mode="644", **ctx)
              for tpl, rel in CONFIG_FILES.items()]
    server.shell(name="nginx -t, then put the config live and reload",
                 commands=[APPLY], _if=any_changed(apply, *staged))
    converge.nginx()  # foreign servers or header settings beside ours
    systemd.service(name="nginx running and enabled", service="nginx", running=True,
                    enabled=True)
