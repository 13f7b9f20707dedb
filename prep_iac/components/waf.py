"""Web-attack filter (CONV-II.d.2), cheap enough for election night: a few nginx `map`s on
the raw request line and user agent, evaluated once per request (PCRE, JIT), answer 403 to
SQL injection, path traversal, scanners and exploit probes, and log them to
/var/log/nginx/prep.blocked.log (for the memoria; no ban: a page on another site can make
its visitors' browsers request probe URIs, docs/security.md). A second log, the volume log,
gets the requests nginx refused for volume (429) that no browser sent: fail2ban bans those.

ModSecurity + OWASP CRS is the explicit, opt-in heavy option (docs/security.md: it costs
~88% of throughput when inline on every request). The patterns live here, as data, so unit
tests can prove them against attacks and against the PREP's own URLs (no false positives).
"""

from pyinfra.api import deploy
from pyinfra.operations import files, systemd

from prep_iac import contract
from prep_iac.components.common import install_validated, render

BLOCKED_LOG = contract.BLOCKED_LOG
MAPS = "/etc/nginx/conf.d/prep-waf.conf"  # http level (nginx.conf includes conf.d/*.conf)
SNIPPET = "/etc/nginx/prep.d/waf.conf"  # server level (docs/contracts.md)
# Refused for volume (429) and not sent by a browser: what fail2ban's prep-web-volume reads.
VOLUME_LOG = "/var/log/nginx/prep.volume.log"
# A request counts towards a volume ban only when its status is 429, it carries no Fetch
# Metadata (`Sec-Fetch-Site`: every current browser sends it on HTTPS, and a page cannot
# remove it) and its user agent is not a browser's (every browser's starts `Mozilla/`; a
# page on another origin cannot change it). Matched against "$status:$sec_fetch_site:$ua".
VOLUME_PATTERN = r"^429::(?!Mozilla/)"

# (reason, pattern on $request_uri: raw, still percent-encoded, case-insensitive).
# Encodings: %27 ', %22 ", %2e ., %2f /, %5c \, %20 and + space, %28 (, %3d =, %3c <.
_Q = r"""(?:'|%27|"|%22)"""
_S = r"(?:\s|%20|\+|%09|%0a|%0d|/\*.*?\*/|%2f%2a.*?%2a%2f)"
URI_PATTERNS = [
    ("traversal", r"(?:\.|%2e|%252e)(?:\.|%2e|%252e)(?:/|\\|%2f|%5c|%252f|%255c)"),
    ("traversal", r"(?:/|%2f)(?:\.|%2e)(?:/|%2f|$)"),
    ("traversal", r"%00|%c0%ae|%c0%af|%e0%80%ae"),
    ("sqli", rf"union{_S}+(?:all{_S}+|distinct{_S}+)?select"),
    ("sqli", rf"select{_S}+.{{0,100}}?{_S}from{_S}"),
    ("sqli", rf"{_Q}{_S}*(?:or|and|\|\||&&){_S}*{_Q}?{_S}*\d+{_S}*(?:=|%3d|<|>|like)"),
    ("sqli", rf"{_Q}{_S}*(?:or|and){_S}+{_Q}[^'%]*{_Q}{_S}*(?:=|%3d)"),
    ("sqli", (rf"(?:{_Q}|\d|\)){_S}*(?:;|%3b){_S}*(?:drop|delete|insert|update|shutdown|exec)"
             rf"{_S}")),
    ("sqli", (r"(?:sleep|benchmark|pg_sleep|waitfor(?:\s|%20|\+)+delay|extractvalue|updatexml"
             r"|load_file|information_schema|sysobjects|xp_cmdshell)(?:\(|%28|\s|%20|\+|')")),
    ("sqli", rf"{_Q}{_S}*(?:--|#|%23|/\*|%2f%2a)"),
    ("xss", (r"(?:<|%3c)(?:/|%2f)?(?:script|iframe|svg|img|body|object|embed)"
            r"|javascript(?::|%3a)|on(?:error|load|mouseover)(?:\s|%20|\+)*(?:=|%3d)")),
    ("probe", (r"/\.(?:env|git|svn|hg|aws|ssh|htaccess|htpasswd|ds_store|docker)"
              r"|(?:wp-(?:login|admin|content|includes)|xmlrpc)|phpmyadmin|/pma/|adminer"
              r"|\.(?:php\d?|asp|aspx|jsp|cgi|pl|sh|bak|sql|old|swp)(?:$|\?|%3f|/)"
              r"|/cgi-bin/|/etc/(?:passwd|shadow)|/proc/self|(?:boot|win)\.ini"
              r"|\$\{jndi|%24%7bjndi|/actuator|/solr/|/vendor/phpunit|/hnap1|/boaform"
              r"|/manager/html|/console/|/owa/|/autodiscover|/server-status|/\.well-known/"
              r"security\.txt\.php")),
    ("probe", (r"(?:;|%3b|\||%7c|`|%60|\$\(|%24%28)(?:\s|%20|\+)*(?:id|uname|cat|wget|curl"
              r"|nc|bash|sh|powershell|cmd)(?:\s|%20|\+|$|;|%3b)")),
]
# On $http_user_agent: tools that only an attacker or a scanner announces.
UA_PATTERN = (r"sqlmap|nikto|nmap|masscan|zgrab|nuclei|dirbuster|gobuster|dirb/|wpscan"
              r"|acunetix|nessus|openvas|w3af|fimap|havij|zmeu|jaeles|ffuf|feroxbuster"
              r"|hydra|arachni|skipfish|netsparker|appscan|burpcollaborator|whatweb"
              r"|wfuzz|commix|xsstrike|morfeus|paros|webinspect|censysinspect")


def nginx_regex(pattern: str) -> str:
    """A pattern as an nginx map key: case-insensitive, double-quoted. nginx unescapes
    `\\` and `\"` inside quotes before PCRE sees the pattern, so both are escaped again."""
    return '"~*' + pattern.replace("\\", "\\\\").replace('"', '\\"') + '"'


def nginx_unquote(key: str) -> str:
    """What nginx hands to PCRE for a quoted map key (its config parser's unescaping)."""
    body = key[1:-1]
    out, i = [], 0
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body) and body[i + 1] in "\\\"'":
            out.append(body[i + 1])
            i += 2
        else:
            out.append(body[i])
            i += 1
    return "".join(out)


def maps() -> str:
    return render("waf", "prep-waf.conf.j2", uri=[(r, nginx_regex(p)) for r, p in URI_PATTERNS],
                  ua=nginx_regex(UA_PATTERN), volume='"~' + VOLUME_PATTERN + '"')


def snippet() -> str:
    return render("waf", "waf.conf.j2", blocked_log=BLOCKED_LOG, volume_log=VOLUME_LOG)


@deploy("waf.filters")
def filters():
    files.directory(name="/etc/nginx/prep.d", path="/etc/nginx/prep.d", mode="0755")
    op = install_validated("web-attack filter", {MAPS: maps(), SNIPPET: snippet()}, "nginx -t")
    if op is not None:
        systemd.service(name="reload nginx", service="nginx", reloaded=True, _if=op.did_change)

