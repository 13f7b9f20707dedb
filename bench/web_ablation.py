"""The web tier's ablation (bench/web.py --ablation): where the full difusor's per-request cost
goes, one feature at a time, against a default nginx with TLS measured in the same rounds.

Each variant is the config the deploy left on the difusor with one feature taken out (or one
candidate setting put in), written over the live files, checked with `nginx -t` and reloaded;
the deployed files go back at the end. Everything else stays as deployed: the firewall, the
other services, the certificate. Taking a feature out only measures it; the deploy is what
decides what a difusor runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from prep_iac import contract
from prep_iac.components import firewall, waf
from prep_iac.components import nginx as nginx_component

NGINX_CONF = "/etc/nginx/" + nginx_component.CONFIG_FILES["nginx.conf.j2"]
HTTP_CONF = "/etc/nginx/" + nginx_component.CONFIG_FILES["prep-http.conf.j2"]
SERVERS = "/etc/nginx/" + nginx_component.CONFIG_FILES["prep-servers.conf.j2"]
BODY = "/etc/nginx/" + nginx_component.CONFIG_FILES["prep-server-body.conf.j2"]
WAF_SNIPPET = waf.SNIPPET
FILES = (NGINX_CONF, HTTP_CONF, SERVERS, BODY, WAF_SNIPPET)
FIREWALL_TABLE = "inet prep"


@dataclass
class Variant:
    name: str
    # (file, regex over its lines, replacement): each must match at least once, or the
    # variant no longer takes out what its name says (the templates changed).
    edits: list[tuple[str, str, str]] = field(default_factory=list)
    setup: str = ""      # shell run on the difusor after the reload (and undone by teardown)
    teardown: str = ""


def _drop(path: str, pattern: str) -> tuple[str, str, str]:
    return (path, pattern, "")


REALPATH = r"^set \$prep_real \$prep_realpath;$"
_IF_BLOCK = r"^ *if \({cond}[^\n]*\{{\n(?:[^\n]*\n)*? *\}}\n"
_FLAGS_IN_LOCATION = "".join(
    f"    if (-f {contract.WATCHDOG_STATE_DIR}/{flag}) {{\n"
    f"        rewrite ^ /_prep/estado/{flag} last;\n    }}\n" for flag in ("por-abrir", "aviso"))
_OURS = {
    "access log": [(BODY, r"^access_log .* prep buffer=.*$", "access_log off;")],
    "web-attack filter": [_drop(WAF_SNIPPET, r"^[^#\n].*\n")],
    "limits": [_drop(BODY, r"^limit_(?:req|conn) .*\n")],
    "headers": [_drop(BODY, r"^add_header .*\n"), _drop(SERVERS, r"^ *add_header .*\n")],
    "methods": [_drop(BODY, _IF_BLOCK.format(cond=r"\$request_method"))],
    "flags": [_drop(BODY, _IF_BLOCK.format(cond=r"-f "))],
    "realpath": [(BODY, REALPATH, "set $prep_real $document_root;")],
    "symlinks": [_drop(BODY, r"^ *disable_symlinks .*\n")],
    "gzip_static": [(HTTP_CONF, r"^gzip_static on;.*$", "gzip_static off;")],
    "tls": [_drop(HTTP_CONF, r"^ssl_(?:protocols|ciphers|prefer_server_ciphers|dhparam"
                             r"|session_timeout|session_cache|session_tickets) .*\n")],
}

_BEFORE = {
    "realpath": [(BODY, REALPATH, "set $prep_real $realpath_root;")],
    "flags": [*_OURS["flags"],
              (BODY, r"^ *if \(\$prep_estado\) \{\n.*\n *\}\n", _FLAGS_IN_LOCATION)],
    "try_files": [(BODY, r"^(location / \{)$",
                   r"\1\n    try_files $uri $uri/index.html $uri/ =404;")],
}


def variants(ruleset: str = firewall.RULESET) -> list[Variant]:
    """Leave-one-out from the deployed config, then the ways it did things before (their
    cost in the same run), then candidates that are not deployed."""
    no_firewall = {"setup": f"nft delete table {FIREWALL_TABLE}", "teardown": f"nft -f {ruleset}"}
    return [
        Variant("full as deployed"),
        Variant("no access log", _OURS["access log"]),
        Variant("access log unbuffered",
                [(BODY, r"^(access_log .* prep) buffer=\S+ flush=\S+;$", r"\1;")]),
        Variant("no web-attack filter (maps, 403, its two logs)", _OURS["web-attack filter"]),
        Variant("no limit_req / limit_conn", _OURS["limits"]),
        Variant("no response headers (HSTS, CSP, cache, corte, ...)", _OURS["headers"]),
        Variant("no map headers (cache, CSP, corte, Retry-After)",
                [_drop(BODY, r"^add_header \S+ \$.*\n")]),
        Variant("no GET/HEAD check", _OURS["methods"]),
        Variant("no watchdog flag stats", _OURS["flags"]),
        Variant("no $realpath_root (root is the symlink)", _OURS["realpath"]),
        Variant("no disable_symlinks", _OURS["symlinks"]),
        Variant("no gzip_static (its .gz probe per file)", _OURS["gzip_static"]),
        Variant("Debian's TLS settings, not ours", _OURS["tls"]),
        # Debian 12's nginx: `listen … ssl http2`; Debian 13's: `http2 on;`.
        Variant("no HTTP/2", [(SERVERS, r"^( *listen \S+ ssl) http2|^ *http2 on;\n", r"\1")]),
        Variant("no nftables ruleset", **no_firewall),
        Variant("bare: all of the above out",
                [edit for edits in _OURS.values() for edit in edits], **no_firewall),
        # Before (how 2026-11 deployed it): what each change took off.
        Variant("before: set $prep_real $realpath_root (two realpaths)", _BEFORE["realpath"]),
        Variant("before: flag tests in location / (disable_symlinks walk)", _BEFORE["flags"]),
        Variant("before: try_files $uri $uri/index.html $uri/ =404", _BEFORE["try_files"]),
        Variant("before: the three together (the 2026-11 config)",
                [edit for edits in _BEFORE.values() for edit in edits]),
        # Candidates (not deployed): what they would buy.
        Variant("+ open_file_cache in location / (not deployed)",
                [(BODY, r"^(location / \{)$",
                  r"\1\n    open_file_cache max=10000 inactive=60s;\n    open_file_cache_valid 1s;")]),
        Variant("+ ssl_session_tickets on", [(HTTP_CONF, r"^ssl_session_tickets off;$",
                                              "ssl_session_tickets on;")]),
    ]


def apply(texts: dict[str, str], variant: Variant) -> dict[str, str]:
    """The deployed files with the variant's edits; refuses an edit that matches nothing."""
    out = dict(texts)
    for path, pattern, repl in variant.edits:
        new, count = re.subn(pattern, repl, out[path], flags=re.MULTILINE)
        if not count:
            raise SystemExit(f"ablation {variant.name!r}: /{pattern}/ matches nothing in {path} "
                             "(the templates changed: update bench/web_ablation.py)")
        out[path] = new
    return out
