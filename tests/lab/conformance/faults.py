"""One fault at a time on a lab difusor, each undone on exit (context managers).

Each waits for the change to be live, not for the command that made it: `systemctl reload
nginx` returns before the new configuration serves."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shlex
import time
import urllib.error
import urllib.request

from prep_iac.components.firewall import RULESET

SITIO = "/etc/nginx/prep/sitio.conf"
WAF = "/etc/nginx/prep.d/waf.conf"  # the web filter's server-level part (docs/security.md)
ESTADO = "/srv/prep/estado.json"
PROBE_PORT = 8081


def sh(lab, host: str, command: str, check: bool = True) -> str:
    proc = lab.run(host, f"sudo sh -c {shlex.quote(command)}", timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"{host}: {command}: rc {proc.returncode}\n{proc.stderr}")
    return proc.stdout


def wait_for(predicate, what: str, timeout: float = 20.0, times: int = 1) -> None:
    """Until `predicate()` holds `times` times in a row: after an nginx reload, workers of
    the old configuration may still take a new connection for a moment."""
    deadline = time.monotonic() + timeout
    held = 0
    while time.monotonic() < deadline:
        held = held + 1 if predicate() else 0
        if held >= times:
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def has_csp(url: str, context) -> bool:
    """Does the PREP answer with a frame-ancestors policy (asked from the controller)?"""
    with urllib.request.urlopen(url, timeout=5, context=context) as resp:
        return "frame-ancestors" in (resp.headers.get("Content-Security-Policy") or "")


@contextlib.contextmanager
def nginx_stopped(lab, host):
    sh(lab, host, "systemctl stop nginx")
    try:
        yield "nginx"
    finally:
        sh(lab, host, "systemctl start nginx")


@contextlib.contextmanager
def port_opened(lab, host, port: int = PROBE_PORT):
    """Something listening on an extra port, and the firewall letting it through."""
    unit = f"prep-conf-test-{port}"
    sh(lab, host, f"nft insert rule inet prep input tcp dport {port} accept && "
                  f"systemd-run --unit {unit} python3 -m http.server {port}")
    wait_for(lambda: f":{port} " in sh(lab, host, "ss -ltnH", check=False), f"port {port}")
    try:
        yield str(port)
    finally:
        sh(lab, host, f"systemctl stop {unit}; nft -f {RULESET}", check=False)


@contextlib.contextmanager
def password_ssh(lab, host):
    # sshd keeps the first value it reads: 00- comes before the hardening drop-in.
    conf = "/etc/ssh/sshd_config.d/00-prep-conf-test.conf"
    sh(lab, host, f"echo 'PasswordAuthentication yes' > {conf} && sshd -t && "
                  "systemctl reload ssh")
    try:
        yield "PasswordAuthentication"
    finally:
        sh(lab, host, f"rm -f {conf} && systemctl reload ssh")


@contextlib.contextmanager
def served_file_changed(lab, host, rel: str):
    path = f"/srv/prep/current/{rel}"
    sh(lab, host, f"cp -a {path} /root/prep-conf-test.bak && printf 'alterado' >> {path}")
    try:
        yield rel
    finally:
        sh(lab, host, f"cp -a /root/prep-conf-test.bak {path} && rm /root/prep-conf-test.bak")


@contextlib.contextmanager
def frame_ancestors_removed(lab, host, url: str, context):
    sh(lab, host, f"cp -a {SITIO} /root/sitio.conf.bak && "
                  f"sed -i '/Content-Security-Policy/d' {SITIO} && nginx -t && "
                  "systemctl reload nginx")
    wait_for(lambda: not has_csp(url, context), "the CSP header to go", times=5)
    try:
        yield "frame-ancestors"
    finally:
        sh(lab, host, f"cp -a /root/sitio.conf.bak {SITIO} && nginx -t && "
                      "systemctl reload nginx")
        wait_for(lambda: has_csp(url, context), "the CSP header to come back", times=5)


def sqli_status(url: str, context) -> int:
    try:
        with urllib.request.urlopen(url + "?id=1%27%20OR%20%271%27=%271", timeout=5,
                                    context=context) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


@contextlib.contextmanager
def web_filter_removed(lab, host, url: str, context):
    """The web filter's `return 403` gone (an empty waf.conf): attacks reach the site."""
    sh(lab, host, f"cp -a {WAF} /root/waf.conf.bak && : > {WAF} && nginx -t && "
                  "systemctl reload nginx")
    wait_for(lambda: sqli_status(url, context) == 200, "the filter to go", times=5)
    try:
        yield "filtro web"
    finally:
        sh(lab, host, f"cp -a /root/waf.conf.bak {WAF} && nginx -t && systemctl reload nginx")
        wait_for(lambda: sqli_status(url, context) == 403, "the filter to come back", times=5)


@contextlib.contextmanager
def cut_gone_stale(lab, host, restore):
    """The last activation an hour ago, as if the IEC had stopped pushing; ``restore()``
    pushes a new cut, which is how a real difusor leaves that state."""
    data = json.loads(sh(lab, host, f"cat {ESTADO}"))
    data["activado"] = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()
    text = shlex.quote(json.dumps(data))
    sh(lab, host, f"printf '%s' {text} > {ESTADO}.tmp && chmod 644 {ESTADO}.tmp && "
                  f"mv {ESTADO}.tmp {ESTADO}")
    try:
        yield "vencido"
    finally:
        restore()
