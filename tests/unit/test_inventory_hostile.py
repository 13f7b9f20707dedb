"""Hostile inventory values (issue 17, point 4): each is either an inventory error naming its
field, or lands inert where it is written (shell quoted, NUT quoted, HTML escaped).

The classes, not only the reported examples: command substitution, backticks, both quotes,
a newline inside and at the end (`$`-anchored patterns let that one through), `;`, braces,
markup, NUL, C1 and invisible unicode controls.
"""

import copy
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import jinja2
import pytest
import yaml
from examples import example_text

from prep_iac import paths
from prep_iac.components import nginx
from prep_iac.components.common import render as render_ours
from prep_iac.inventory import InventoryError, load_inventory
from prep_iac.inventory.hostconfig import HostConfig
from prep_iac.onhost import watchdog as onhost_watchdog
from prep_iac.onhost.acme import AcmeConfig, certbot_command

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "inventories" / "example-difusor.yml"
EXAMPLE_IEC = REPO / "inventories" / "example-iec.yml"

HOSTILE = {
    "subst": "$(touch /tmp/prep-pwn)",
    "subst-nospace": "$(reboot)",
    "backtick": "`reboot`",
    "squote": "x'y",
    "dquote": 'x"y',
    "newline": "x\ny",
    "trailing-newline": "\n",
    "semicolon": ";reboot",
    "braces": "{ }",
    "brace-nospace": "}x{",
    "markup": "<script>alert(1)</script>",
    "nul": "x\x00y",
    "c1": "x\x85y",
    "bidi": "x\u202ey",
    "zero-width": "x\u200by",
    "line-separator": "x\u2028y",
    "escape": "x\x1b[2Jy",
    "tab": "x\ty",
}
# Those a URL may hold (RFC 3986 sub-delimiters), made inert where it lands instead.
URL_CHARS = {"subst-nospace", "squote", "semicolon"}
# Those a line of text (organization, contact, description) may hold.
TEXT_CONTROLS = {"newline", "trailing-newline", "nul", "c1", "bidi", "zero-width",
                 "line-separator", "escape", "tab"}


def _difusor():
    return yaml.safe_load(example_text(EXAMPLE))


def _iec():
    return yaml.safe_load(EXAMPLE_IEC.read_text())


def _set(data, path, value):
    *parents, last = path
    node = data
    for part in parents:
        node = node[part]
    node[last] = value


def _get(data, path):
    node = data
    for part in path:
        node = node[part]
    return node


def _load(tmp_path, data):
    # JSON is YAML, and its escapes keep every character as written: YAML's own dump would
    # fold NEL and U+2028 into line breaks before the schema sees them.
    path = tmp_path / "inv.yml"
    path.write_text(json.dumps(data, indent=1, ensure_ascii=True))
    return load_inventory(path)


def _problems(tmp_path, data):
    with pytest.raises(InventoryError) as info:
        _load(tmp_path, data)
    return [str(p) for p in info.value.problems]


D = ("difusores", "difusor-1")
P = ("publishers", "publisher-1")


def _with_ha(data):
    second = copy.deepcopy(data["difusores"]["difusor-1"])
    second.update(address="203.0.113.11", server_names=["prep2.example.mx"])
    data["difusores"]["difusor-2"] = second
    data["difusores"]["difusor-1"]["ha"] = {"peer": "difusor-2",
                                            "floating_address": "203.0.113.20/24"}
    second["ha"] = {"peer": "difusor-1", "floating_address": "203.0.113.20/24"}
    return data


# field path -> (inventory maker, how the field is named in the error)
STRICT_FIELDS = {
    "server_names": (_difusor, D + ("server_names", 0), "difusores.difusor-1.server_names[0]"),
    "address": (_difusor, D + ("address",), "difusores.difusor-1.address"),
    "ssh_user": (_difusor, D + ("ssh_user",), "difusores.difusor-1.ssh_user"),
    "portal_origins": (_difusor, D + ("portal_origins", 0),
                       "difusores.difusor-1.portal_origins[0]"),
    "tls.email": (_difusor, D + ("tls", "email"), "difusores.difusor-1.tls.email"),
    "contact.email": (_difusor, D + ("contact", "email"), "difusores.difusor-1.contact.email"),
    "ups.driver": (_difusor, D + ("ups", "driver"), "difusores.difusor-1.ups.driver"),
    "ups.port": (_difusor, D + ("ups", "port"), "difusores.difusor-1.ups.port"),
    "ups.name": (_difusor, D + ("ups", "name"), "difusores.difusor-1.ups.name"),
    "ups.notify_mail": (_difusor, D + ("ups", "notify_mail"),
                        "difusores.difusor-1.ups.notify_mail"),
    "jail_user": (_difusor, ("iec", "jail_user"), "iec.jail_user"),
    "sources": (_difusor, ("iec", "sources", 0), "iec.sources[0]"),
    "networks": (_difusor, ("admins", "networks", 0), "admins.networks[0]"),
    "account name": (_difusor, ("admins", "accounts", 0, "name"), "admins.accounts[0].name"),
    "sftp key": (_difusor, ("iec", "sftp_keys", 0), "iec.sftp_keys[0]"),
    "signer": (_difusor, ("iec", "signers", 0), "iec.signers[0]"),
    "process": (_difusor, ("iec", "process"), "iec.process"),
    "prep_opens": (_difusor, ("iec", "calendar", "prep_opens"), "iec.calendar.prep_opens"),
    "notice_by": (_difusor, ("iec", "calendar", "notice_by"), "iec.calendar.notice_by"),
    "drill day": (_difusor, ("iec", "calendar", "drills", "days", 0),
                  "iec.calendar.drills.days[0]"),
    "timezone": (_difusor, ("iec", "calendar", "timezone"), "iec.calendar.timezone"),
    "ha.floating_address": (lambda: _with_ha(_difusor()), D + ("ha", "floating_address"),
                            "difusores.difusor-1.ha"),
    "ha.peer": (lambda: _with_ha(_difusor()), D + ("ha", "peer"), "difusores.difusor-1.ha.peer"),
    "drop_dir": (_iec, P + ("drop_dir",), "publishers.publisher-1.drop_dir"),
    "state_dir": (_iec, P + ("state_dir",), "publishers.publisher-1.state_dir"),
    "publisher notify_mail": (_iec, P + ("notify_mail",), "publishers.publisher-1.notify_mail"),
    "host_key": (_iec, ("difusores", "difusor-ejemplo", "host_key"),
                 "difusores.difusor-ejemplo.host_key"),
}
VALID = {"drop_dir": "/srv/entrada", "state_dir": "/var/lib/pub", "contact.email": "a@example.mx",
         "ups.notify_mail": "guardia@example.mx", "publisher notify_mail": "guardia@example.mx",
         "tls.acme_server": "https://acme.example.mx/directory"}
URL_FIELDS = {
    "official_url": (_difusor, ("iec", "official_url"), "iec.official_url"),
    "public_url": (_difusor, D + ("public_url",), "difusores.difusor-1.public_url"),
    "ups.notify_webhook": (_difusor, D + ("ups", "notify_webhook"),
                           "difusores.difusor-1.ups.notify_webhook"),
    "tls.acme_server": (_difusor, D + ("tls", "acme_server"), "difusores.difusor-1.tls.acme_server"),
    "publisher notify_webhook": (_iec, P + ("notify_webhook",),
                                 "publishers.publisher-1.notify_webhook"),
}
TEXT_FIELDS = {
    "organization": (_difusor, D + ("organization",), "difusores.difusor-1.organization"),
    "contact.name": (_difusor, D + ("contact", "name"), "difusores.difusor-1.contact.name"),
    "contact.phone": (_difusor, D + ("contact", "phone"), "difusores.difusor-1.contact.phone"),
    "contact.hours": (_difusor, D + ("contact", "hours"), "difusores.difusor-1.contact.hours"),
    "ups.description": (_difusor, D + ("ups", "description"),
                        "difusores.difusor-1.ups.description"),
    "ssh_key": (_difusor, D + ("ssh_key",), "difusores.difusor-1.ssh_key"),
}


def _base_value(data, field, path):
    try:
        return str(_get(data, path))
    except (KeyError, IndexError, TypeError):
        return VALID.get(field, "https://hooks.example.mx/prep" if "webhook" in field else "x")


def _assert_refused(tmp_path, maker, path, named, field, hostile):
    data = maker()
    _set(data, path, _base_value(data, field, path) + hostile)
    found = _problems(tmp_path, data)
    assert any(f": {named}:" in p for p in found), found


SSH_KEY_FIELDS = ("sftp key", "signer", "host_key")


def strict_cases():
    """Every (field, hostile class); an SSH key's comment is free text (it lands after the
    key and is never parsed), so key fields are tried with control characters only."""
    return [(field, kind) for field in sorted(STRICT_FIELDS) for kind in sorted(HOSTILE)
            if field not in SSH_KEY_FIELDS or kind in TEXT_CONTROLS]


@pytest.mark.parametrize(("field", "kind"), strict_cases())
def test_strict_fields_refuse_every_hostile_class(tmp_path, field, kind):
    maker, path, named = STRICT_FIELDS[field]
    _assert_refused(tmp_path, maker, path, named, field, HOSTILE[kind])


@pytest.mark.parametrize("kind", sorted(set(HOSTILE) - URL_CHARS))
@pytest.mark.parametrize("field", sorted(URL_FIELDS))
def test_url_fields_refuse_what_a_url_cannot_hold(tmp_path, field, kind):
    maker, path, named = URL_FIELDS[field]
    _assert_refused(tmp_path, maker, path, named, field, HOSTILE[kind])


@pytest.mark.parametrize("kind", sorted(TEXT_CONTROLS))
@pytest.mark.parametrize("field", sorted(TEXT_FIELDS))
def test_text_fields_refuse_controls_and_line_breaks(tmp_path, field, kind):
    maker, path, named = TEXT_FIELDS[field]
    _assert_refused(tmp_path, maker, path, named, field, HOSTILE[kind])


@pytest.mark.parametrize("name", ["difusor-1\n", "difusor-1 ", "Difusor", "d;x", "d$(x)"])
def test_host_names_are_whole_names(tmp_path, name):
    data = _difusor()
    data["difusores"] = {name: data["difusores"]["difusor-1"]}
    found = _problems(tmp_path, data)
    assert any("is not a valid host name" in p for p in found), found


@pytest.mark.parametrize("address", ["fe80::1%$(reboot)", "fe80::1%eth0"])
def test_ipv6_zones_refused(tmp_path, address):
    data = _difusor()
    data["difusores"]["difusor-1"]["address"] = address
    assert any("difusores.difusor-1.address" in p for p in _problems(tmp_path, data))


@pytest.mark.parametrize("port", ["../../etc/shadow", "/etc/x", ".hidden"])
def test_dummy_ups_port_is_a_file_name(tmp_path, port):
    data = _difusor()
    data["difusores"]["difusor-1"]["ups"].update(driver="dummy-ups", port=port)
    assert any("difusores.difusor-1.ups" in p for p in _problems(tmp_path, data))


def test_the_reported_examples_are_refused(tmp_path):
    data = _difusor()
    d = data["difusores"]["difusor-1"]
    d["tls"]["email"] = "a@b.mx $(touch /tmp/x)"
    d["ups"]["notify_webhook"] = "https://h.mx/' ; reboot ; '"
    d["ups"]["notify_mail"] = "x@y.mx'; reboot; '"
    d["ups"]["description"] = 'UPS" \n[evil]\n driver = "x'
    d["portal_origins"] = ['https://a.mx:8"; add_header X y; "']
    data["iec"]["official_url"] = 'https://iec.mx/" onmouseover="alert(1)'
    d["server_names"] = ["prep.example.mx\n"]
    found = "\n".join(_problems(tmp_path, data))
    for field in ("tls.email", "ups.notify_webhook", "ups.notify_mail", "ups.description",
                  "portal_origins[0]", "iec.official_url", "server_names[0]"):
        assert f"{field}:" in found, (field, found)


def test_plain_values_still_load_and_normalize(tmp_path):
    data = _with_ha(_difusor())
    d = data["difusores"]["difusor-1"]
    d["portal_origins"] = ["HTTPS://WWW.Example.MX:8443/", "http://[2001:db8::1]"]
    d["public_url"] = "https://www.example.mx/prep/?a=1&b=%20;x"
    d["ups"].update(port="/dev/ttyS0", description="UPS de la sala (rack 2) — 1500 VA",
                    notify_mail="guardia+prep@example.mx")
    inv = _load(tmp_path, data)
    host = inv.difusores["difusor-1"]
    assert host.portal_origins == ["https://www.example.mx:8443", "http://[2001:db8::1]"]
    assert host.ha.floating_address == "203.0.113.20/24"


# --- where accepted values land ------------------------------------------------------------------

class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, tuple(name for name, _ in attrs)))


def _tags(html: str) -> list:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def _pyinfra_like(folder, name, **ctx):
    """pyinfra's files.template: plain jinja, no autoescape of its own."""
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    return env.from_string(Path(paths.template(folder, name)).read_text()).render(**ctx)


MARKUP_ORG = """<script>alert(1)</script><img src=x onerror=alert(2)>"' & $corte ${official_url}"""
MARKUP_URL = "https://www.iec.org.mx/a'b;c$(reboot)!*&x=1"


def _hostile_cfg(tmp_path) -> HostConfig:
    data = _difusor()
    data["difusores"]["difusor-1"]["organization"] = MARKUP_ORG
    data["participation"]["organization"] = MARKUP_ORG  # the same name in both, as checked
    data["iec"]["official_url"] = MARKUP_URL
    path = tmp_path / "inv.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return HostConfig(load_inventory(path), path, "difusor-1", "difusor")


def _plain_cfg() -> HostConfig:
    return HostConfig(load_inventory(EXAMPLE), EXAMPLE, "difusor-1", "difusor")


@pytest.mark.parametrize("page", sorted(p for p in nginx.PAGES if p.endswith(".html.j2")))
def test_pages_escape_inventory_text(tmp_path, page):
    hostile = _pyinfra_like("portal", page, **nginx.context(_hostile_cfg(tmp_path)))
    plain = _pyinfra_like("portal", page, **nginx.context(_plain_cfg()))
    assert _tags(hostile) == _tags(plain)  # no new tag, no new attribute
    assert "<script>" not in hostile and "onerror" not in hostile.replace("onerror=alert", "")
    if "official_url" in Path(paths.template("portal", page)).read_text():
        assert 'href="https://www.iec.org.mx/a&#39;b;c$(reboot)!*&amp;x=1"' in hostile


def test_notice_page_escapes_in_both_stages(tmp_path):
    cfg = _hostile_cfg(tmp_path)
    template = _pyinfra_like("watchdog", "aviso.html.j2", **nginx.context(cfg))
    settings = onhost_watchdog.WatchdogConfig(
        opens="2021-06-06T18:00:00-06:00", closes="2021-06-15T23:59:00-06:00",
        official_url=cfg.iec.official_url, period_s=600, timezone="America/Monterrey")
    page = onhost_watchdog.render_notice(template, {"corte": "C1"}, settings)
    plain_template = _pyinfra_like("watchdog", "aviso.html.j2", **nginx.context(_plain_cfg()))
    plain = onhost_watchdog.render_notice(plain_template, {"corte": "C1"}, settings)
    assert _tags(page) == _tags(plain)
    # The organization's own "$corte" stays text: string.Template did not fill it.
    assert "&#39; &amp; $corte ${official_url}" in page


def test_public_list_escapes(tmp_path):
    from types import SimpleNamespace

    from prep_iac.onhost.publisher import listpage

    reg = SimpleNamespace(difusores=[SimpleNamespace(name="d1", organization=MARKUP_ORG,
                                                     public_url=MARKUP_URL)])
    led = SimpleNamespace(state=lambda name: "active")
    html_path, _ = listpage.render(reg, led, tmp_path)
    html = html_path.read_text()
    assert [t for t, _ in _tags(html)].count("script") == 0
    assert "<img" not in html


def _run_sh(script: str, tmp_path: Path, stubs: dict[str, str], env=None) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    for name, body in stubs.items():
        stub = bindir / name
        stub.write_text("#!/bin/sh\n" + body)
        stub.chmod(0o755)
    path = tmp_path / "script.sh"
    path.write_text(script)
    for shell in ("sh", "bash"):
        if shutil.which(shell):
            subprocess.run([shell, "-n", str(path)], check=True)
    subprocess.run(["sh", str(path)], check=False, cwd=tmp_path, timeout=30,
                   env={"PATH": f"{bindir}:/usr/bin:/bin", "HOME": str(tmp_path),
                        **(env or {})})


ARGS_STUB = 'for a in "$@"; do printf "%s\\0" "$a"; done >> "$HOME/{name}.args"\n'


def _args(tmp_path, name) -> list[str]:
    path = tmp_path / f"{name}.args"
    return path.read_text().split("\0")[:-1] if path.exists() else []


SHELL_VALUES = [HOSTILE[k] for k in ("subst", "backtick", "squote", "dquote", "semicolon",
                                     "braces", "newline")] + ["'$(touch pwn)'", "-x", "a b"]


@pytest.mark.parametrize("value", SHELL_VALUES)
def test_acme_values_reach_certbot_as_one_argument_each(value):
    # The schema refuses all of these; prep-acme-issue passes them as argv (no shell) anyway.
    cfg = AcmeConfig(names=[f"prep{value}.mx", "b.mx"], email=f"a{value}@b.mx", webroot="/w",
                     fullchain="/f", privkey="/k", server=f"https://acme.mx/{value}")
    args = certbot_command(cfg, have_cert=False, issued_for={}, force=False)
    assert args[args.index("--email") + 1] == f"a{value}@b.mx"
    assert args[args.index("--server") + 1] == f"https://acme.mx/{value}"
    assert [args[i + 1] for i, a in enumerate(args) if a == "-d"] == [f"prep{value}.mx", "b.mx"]


WEBHOOKS = ["https://h.example.mx/a'$(touch${IFS}pwn)'", "https://h.example.mx/a';touch pwn;'",
            MARKUP_URL, "https://h.example.mx/`touch pwn`", 'https://h.example.mx/"$(touch pwn)"']


@pytest.mark.parametrize("webhook", WEBHOOKS)
def test_ups_notifier_quotes_webhook_and_mail(tmp_path, webhook):
    mail = "x'$(touch pwn)'@example.mx"
    script = render_ours("nut", "prep-ups-notify.j2", ups_name="ups", webhook=webhook, mail=mail)
    stubs = {n: ARGS_STUB.format(name=n) for n in ("curl", "mail", "logger", "touch")}
    stubs["hostname"] = "echo h\n"
    _run_sh(script, tmp_path, stubs, env={"NOTIFYTYPE": "ONBATT", "UPSNAME": "ups"})
    assert _args(tmp_path, "curl")[-1] == webhook
    assert _args(tmp_path, "mail")[-1] == mail
    assert not _args(tmp_path, "touch") and not (tmp_path / "pwn").exists()


def _nut_values(text: str) -> dict:
    """A small NUT parser: key = value, value bare or "..." with \\ escapes."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "[")):
            continue
        m = re.fullmatch(r'(\w+) = (?:"((?:[^"\\]|\\.)*)"|([^\s"]+))', line)
        assert m, f"line NUT would misread: {line!r}"
        out[m[1]] = re.sub(r"\\(.)", r"\1", m[2]) if m[2] is not None else m[3]
    return out


@pytest.mark.parametrize("description", ["UPS 'sala' $(reboot) `x` ; { } <b>", 'a "b" \\ c'])
def test_ups_conf_quotes_description(description):
    from types import SimpleNamespace

    ups = SimpleNamespace(name="ups", driver="usbhid-ups", description=description)
    text = render_ours("nut", "ups.conf.j2", ups=ups, port="/dev/ttyS0")
    assert text.count("[") == 1  # one section, none smuggled in
    values = _nut_values(text)
    assert values["desc"] == description and values["port"] == "/dev/ttyS0"


def test_ups_conf_from_inventory_parses(tmp_path):
    data = _difusor()
    data["difusores"]["difusor-1"]["ups"]["description"] = "UPS 'sala' $(reboot) ; {x} <b>"
    inv = _load(tmp_path, data)
    ups = inv.difusores["difusor-1"].ups
    values = _nut_values(render_ours("nut", "ups.conf.j2", ups=ups, port=ups.port))
    assert values["desc"] == ups.description


def test_nginx_refuses_values_it_cannot_quote():
    for bad in ('https://a.mx"', "https://a.mx$host", "https://a.mx\\", "a\nb"):
        with pytest.raises(ValueError):
            nginx.frame_ancestors([bad])
    for bad in ("a.mx;", "a b", "a{", "a\n"):
        with pytest.raises(ValueError):
            nginx.nginx_word(bad)


def test_csp_map_holds_origins_inside_its_quotes(tmp_path):
    data = _difusor()
    data["difusores"]["difusor-1"]["portal_origins"] = ["https://a.example.mx:8443",
                                                      "http://[2001:db8::1]"]
    path = tmp_path / "inv.yml"
    path.write_text(yaml.safe_dump(data))
    cfg = HostConfig(load_inventory(path), path, "difusor-1", "difusor")
    text = _pyinfra_like("nginx", "prep-http.conf.j2", **nginx.context(cfg))
    block = text.split("map $uri $prep_csp {")[1].split("}\n")[0]
    lines = [line for line in block.splitlines() if line.strip()]
    assert [line.count('"') for line in lines] == [4, 2]
    assert "https://a.example.mx:8443 http://[2001:db8::1]\";" in lines[1]


def test_keepalived_values_are_plain_words(tmp_path):
    from prep_iac.components import ha

    data = _with_ha(_difusor())
    path = tmp_path / "inv.yml"
    path.write_text(yaml.safe_dump(data))
    cfg = HostConfig(load_inventory(path), path, "difusor-1", "difusor")
    ctx = ha.context(cfg, "eth0")
    for key, value in ctx.items():
        assert " " not in str(value) and "\n" not in str(value), key
