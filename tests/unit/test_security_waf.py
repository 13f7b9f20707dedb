"""The web-attack filter's patterns: attacks blocked, the PREP's own URLs never."""

import re

import pytest

from prep_iac.components import waf

URI = [(reason, re.compile(p, re.IGNORECASE)) for reason, p in waf.URI_PATTERNS]
UA = re.compile(waf.UA_PATTERN, re.IGNORECASE)


def verdict(uri: str, agent: str = "Mozilla/5.0") -> str:
    for reason, pattern in URI:
        if pattern.search(uri):
            return reason
    return "scanner" if UA.search(agent) else ""


ATTACKS = [
    ("/?id=1%27%20OR%20%271%27=%271", "sqli"),
    ("/?id=1' OR '1'='1", "sqli"),
    ("/?id=1%27%20or%201=1--", "sqli"),
    ("/index.html?q=1+UNION+SELECT+username,password+FROM+users", "sqli"),
    ("/?x=1%20UnIoN%2F%2A%2A%2FsElEcT%201,2", "sqli"),
    ("/?id=1;DROP TABLE actas", "sqli"),
    ("/?id=1%3b%20drop%20table%20x", "sqli"),
    ("/?id=sleep(5)", "sqli"),
    ("/?id=1%20AND%20SLEEP%285%29", "sqli"),
    ("/?q=admin%27--", "sqli"),
    ("/?q=1%20and%20extractvalue(1,concat(0x7e,version()))", "sqli"),
    ("/../../../../etc/passwd", "traversal"),
    ("/%2e%2e/%2e%2e/etc/passwd", "traversal"),
    ("/..%2f..%2fetc%2fpasswd", "traversal"),
    ("/%252e%252e%252fetc%252fpasswd", "traversal"),
    ("/static/..\\..\\windows\\win.ini", "traversal"),
    ("/index.html%00.png", "traversal"),
    ("/.env", "probe"),
    ("/.git/config", "probe"),
    ("/wp-login.php", "probe"),
    ("/xmlrpc.php", "probe"),
    ("/phpmyadmin/index.php", "probe"),
    ("/cgi-bin/luci", "probe"),
    ("/?x=${jndi:ldap://198.51.100.1/a}", "probe"),
    ("/?x=%24%7Bjndi:ldap://x/a}", "probe"),
    ("/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php", "probe"),
    ("/actuator/health", "probe"),
    ("/?cmd=;cat%20/etc/passwd", "probe"),
    ("/backup.sql", "probe"),
    ("/?q=%3Cscript%3Ealert(1)%3C/script%3E", "xss"),
    ("/?q=<img src=x onerror=alert(1)>", "xss"),
]

# The PREP as the generator (prep_iac/corte/site.py) writes it, the portal, the state file,
# and what browsers, crawlers and monitors add to such URLs.
LEGIT = [
    "/", "/index.html", "/municipio_01.html", "/municipio_38.html", "/estilo.css",
    "/datos/municipio_05.json", "/datos/resumen.json", "/estado.json", "/portal/",
    "/portal/index.html", "/actas/05001B0101.png", "/actas/05030C0201.png",
    "/20210606_2000_PREP_AYUN_COAH.zip", "/COAH_AYUN_2021.csv",
    "/COAH_AYUN_CANDIDATURAS_2021.csv", "/LEEME.txt", "/favicon.ico", "/robots.txt",
    "/.well-known/acme-challenge/Xk3_l-9aZq0b1", "/index.html?v=20210606_2000",
    "/municipio_07.html?utm_source=facebook&utm_medium=social&utm_campaign=prep2021",
    "/index.html?fbclid=IwAR2x8_K-selected-from-feed", "/?orden=votos&desc=1",
    "/municipio_12.html#seccion-0123", "/datos/municipio_05.json?_=1623030000000",
    "/index.html?q=select%20a%20municipality", "/?ref=news.example.mx/or-1-thing",
    "/_prep/aviso.html", "/app.3f2a9c1b.js", "/estilo.8c1d2e3f.css",
]


@pytest.mark.parametrize("uri,reason", ATTACKS)
def test_attacks_are_blocked(uri, reason):
    assert verdict(uri) == reason


@pytest.mark.parametrize("uri", LEGIT)
def test_prep_urls_pass(uri):
    assert verdict(uri) == ""


@pytest.mark.parametrize("agent", ["sqlmap/1.7.2#stable (https://sqlmap.org)",
                                   "Mozilla/5.00 (Nikto/2.1.6) (Evasions:None)",
                                   "Mozilla/5.0 zgrab/0.x", "Nuclei - Open-source project",
                                   "gobuster/3.6", "WPScan v3.8.22"])
def test_scanner_agents_are_blocked(agent):
    assert verdict("/", agent) == "scanner"


@pytest.mark.parametrize("agent", [
    ("Mozilla/5.0 (Linux; Android 13; SM-A135M) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/125.0 Mobile Safari/537.36"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
    "like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"),
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "curl/7.88.1", "python-requests/2.31.0", "Wget/1.21.3", "facebookexternalhit/1.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"])
def test_browsers_and_monitors_pass(agent):
    assert verdict("/index.html", agent) == ""


def test_generated_cut_urls_pass(tmp_path):
    """Every file of a cut the generator writes, and every link in its pages, passes."""
    import subprocess
    import sys

    out = tmp_path / "cut"
    subprocess.run([sys.executable, "-m", "prep_iac.cli", "corte", "generate", "--out",
                    str(out), "--at", "20:00", "--actas", "120", "--image-kb", "1"],
                   check=True, capture_output=True, timeout=120)
    (cut,) = [p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")]
    urls = {"/" + str(p.relative_to(cut)) for p in cut.rglob("*") if p.is_file()}
    for page in cut.rglob("*.html"):
        for link in re.findall(r'(?:href|src)="([^"#]+)"', page.read_text("utf-8")):
            if "://" not in link:
                urls.add("/" + link.lstrip("./"))
    assert len(urls) > 40
    assert [u for u in sorted(urls) if verdict(u)] == []


def test_maps_render_every_pattern():
    text = waf.maps()
    assert text.count('"~*') == len(waf.URI_PATTERNS) + 1
    assert "map $request_uri $prep_waf_uri" in text and "$prep_waf " in text
    assert "if=$prep_waf" in waf.snippet() and "return 403" in waf.snippet()


def test_nginx_gets_the_exact_patterns():
    """nginx unescapes `\\\\` and `\\"` in quoted strings: what reaches PCRE must be the
    pattern the other tests proved (a lost backslash once turned `\\\\` into a literal `|`)."""
    keys = [line.strip().rsplit(" ", 1)[0] for line in waf.maps().splitlines()
            if line.strip().startswith('"~*')]
    expected = [p for _, p in waf.URI_PATTERNS] + [waf.UA_PATTERN]
    assert [waf.nginx_unquote(k)[2:] for k in keys] == expected
