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


# How the server block takes the resolved `current` (before: `set` straight from $realpath_root).
REALPATH = r"^set \$prep_real \$(?:prep_realpath|realpath_root);$"
_IF_BLOCK = r"^ *if \({cond}[^\n]*\{{\n(?:[^\n]*\n)*? *\}}\n"


def variants(ruleset: str = firewall.RULESET) -> list[Variant]:
    """Leave-one-out from the deployed config, then candidates that are not deployed."""
    return [
        Variant("full as deployed"),
        Variant("no access log", [(BODY, r"^access_log .* prep buffer=.*$", "access_log off;")]),
        Variant("access log unbuffered",
                [(BODY, r"^(access_log .* prep) buffer=\S+ flush=\S+;$", r"\1;")]),
        Variant("no web-attack filter (maps, 403, its two logs)",
                [_drop(WAF_SNIPPET, r"^[^#\n].*\n")]),
        Variant("no limit_req / limit_conn", [_drop(BODY, r"^limit_(?:req|conn) .*\n")]),
        Variant("no response headers (HSTS, CSP, cache, corte, ...)",
                [_drop(BODY, r"^add_header .*\n"), _drop(SERVERS, r"^ *add_header .*\n")]),
        Variant("no map headers (cache, CSP, corte, Retry-After)",
                [_drop(BODY, r"^add_header \S+ \$.*\n")]),
        Variant("no GET/HEAD check", [_drop(BODY, _IF_BLOCK.format(cond=r"\$request_method"))]),
        Variant("no watchdog flag stats", [_drop(BODY, _IF_BLOCK.format(cond=r"-f "))]),
        Variant("no $realpath_root (root is the symlink)",
                [(BODY, REALPATH, "set $prep_real $document_root;")]),
        Variant("no disable_symlinks", [_drop(BODY, r"^ *disable_symlinks .*\n")]),
        Variant("try_files -> plain static", [_drop(BODY, r"^ *try_files .*\n")]),
        # Debian 12's nginx: `listen … ssl http2`; Debian 13's: `http2 on;`.
        Variant("no HTTP/2", [(SERVERS, r"^( *listen \S+ ssl) http2|^ *http2 on;\n", r"\1")]),
        Variant("no nftables ruleset",
                setup=f"nft delete table {FIREWALL_TABLE}", teardown=f"nft -f {ruleset}"),
        Variant("bare: all of the above out",
                [(BODY, r"^access_log .* prep buffer=.*$", "access_log off;"),
                 _drop(WAF_SNIPPET, r"^[^#\n].*\n"),
                 _drop(BODY, r"^limit_(?:req|conn) .*\n"),
                 _drop(BODY, r"^add_header .*\n"), _drop(SERVERS, r"^ *add_header .*\n"),
                 _drop(BODY, _IF_BLOCK.format(cond=r"\$request_method")),
                 _drop(BODY, _IF_BLOCK.format(cond=r"-f ")),
                 (BODY, REALPATH, "set $prep_real $document_root;"),
                 _drop(BODY, r"^ *disable_symlinks .*\n"), _drop(BODY, r"^ *try_files .*\n")],
                setup=f"nft delete table {FIREWALL_TABLE}", teardown=f"nft -f {ruleset}"),
        # Candidates (not deployed): what they would buy.
        Variant("+ open_file_cache (not deployed: stale flags)",
                [(BODY, r"^(root .*)$",
                  r"\1\nopen_file_cache max=10000 inactive=60s;\nopen_file_cache_valid 1s;")]),
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
