"""Debian's own files and the effective configuration on a real difusor (issue 20, points 3
and 4; docs/security.md "Debian's own files" and "Effective configuration").

One difusor is enough:

    PREP_LAB_NAME=hconf PREP_LAB_SUBNET=10.71.0.0/24 PREP_LAB_DIFUSORES=1 \\
    PREP_LAB_PUBLISHERS=0 pytest tests/lab/test_conffiles.py

- after a deploy `dpkg --verify` lists no changed conffile, and a host left as earlier
  versions left it (conffiles overwritten) converges;
- reinstalling the packages non-interactively asks nothing and keeps our settings in force;
- foreign files that override a hardened value (sshd, sysctl, sudoers, nginx, nftables) are
  neutralised by one deploy, kept, and the values in force are ours again.
"""

from __future__ import annotations

import shlex
import ssl
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import deploy, lab_settings  # tests/lab/conftest.py
from security.setup import wait_for

from prep_iac.components import distro
from prep_iac.components.conffiles import NEUTRALISED
from prep_iac.components.firewall import RULESET

pytestmark = pytest.mark.lab
REPO = Path(__file__).resolve().parents[2]
DIFUSOR = REPO / "deploys" / "difusor.py"
NODE = "difusor-1"
MAJOR = {"bookworm": 12, "trixie": 13}
# The packages whose conffiles a difusor deploy used to overwrite, and the servers they hold.
PACKAGES = ["nginx", "openssh-server", "nftables", "logrotate"]


def sh(lab, command: str, check: bool = True, timeout: float = 300) -> str:
    proc = lab.run(NODE, "sudo sh -c " + shlex.quote(command), timeout=timeout)
    if check:
        assert proc.returncode == 0, f"{command}: {proc.stdout}{proc.stderr}"
    return proc.stdout


def changed_conffiles(lab) -> list[str]:
    """`dpkg --verify` lines for conffiles (`c` in the attribute column)."""
    out = sh(lab, "dpkg --verify || true")
    return [line for line in out.splitlines() if line.split()[1:2] == ["c"]]


def kept_files(lab) -> set[str]:
    return set(sh(lab, f"ls {NEUTRALISED} 2>/dev/null || true").split())


def https_get(address: str, path: str = "/portal/") -> tuple[int, dict]:
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    request = urllib.request.Request(f"https://{address}{path}",
                                     headers={"User-Agent": "Mozilla/5.0 (prep-iac lab)"})
    with urllib.request.urlopen(request, timeout=15, context=context) as response:
        response.read()
        return response.status, {k.lower(): v for k, v in response.headers.items()}


def answer_for(address: str, name: str) -> str:
    """What port 80 answers for Host: name (status and body; redirects not followed)."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(f"http://{address}/", headers={"Host": name})
    try:
        with opener.open(request, timeout=15) as response:
            return f"{response.status} {response.read().decode(errors='replace')}"
    except urllib.error.HTTPError as error:
        return f"{error.code}"


def sshd_value(lab, key: str) -> str:
    for line in sh(lab, "sshd -T").splitlines():
        if line.split(" ", 1)[0] == key:
            return line.split(" ", 1)[1]
    return ""


@pytest.fixture(scope="module")
def node(lab):
    first = deploy(lab, DIFUSOR, limit=NODE)
    assert first.ok, first.output[-4000:]
    second = deploy(lab, DIFUSOR, limit=NODE)
    release = lab_settings()["release"]
    return {"lab": lab, "first": first, "second": second,
            "distro": distro.lookup("debian", MAJOR[release]),
            "address": lab.hosts[NODE]}


# ---- Debian's own files --------------------------------------------------------------------

def test_deploy_leaves_no_conffile_changed(node):
    lab = node["lab"]
    assert node["second"].ok and node["second"].changed == 0, node["second"].output[-4000:]
    assert changed_conffiles(lab) == []
    diverted = sh(lab, "dpkg-divert --list")
    for path, to in node["distro"]["conffile_diverts"].items():
        assert f"local diversion of {path} to {to}" in diverted
    # The package's own file is beside ours, and what a daemon reads is ours.
    assert "prep-iac" in sh(lab, "head -n 3 /etc/nginx/nginx.conf")
    assert "prep-iac" not in sh(lab, "cat /etc/nginx/nginx.conf.distrib")
    assert sshd_value(lab, "modulifile") == "/etc/ssh/prep-moduli"
    assert RULESET in sh(lab, "systemctl cat nftables")


def test_host_deployed_by_an_earlier_version_converges(node):
    """As earlier versions left a host: nginx.conf overwritten (no diversion), moduli
    filtered in place, our ruleset in /etc/nftables.conf. One deploy restores the packages'
    own files, keeps the changed ones, and changes nothing the second time."""
    lab = node["lab"]
    sh(lab, "dpkg-divert --quiet --local --remove /etc/nginx/nginx.conf && "
            "rm -f /etc/nginx/nginx.conf.distrib && "
            "awk '$1 ~ /^#/ || $5 + 1 >= 3072' /etc/ssh/moduli > /tmp/m && "
            "cat /tmp/m > /etc/ssh/moduli && rm /tmp/m && "
            f"cp {RULESET} /etc/nftables.conf")
    before = changed_conffiles(lab)
    for path in ("/etc/nginx/nginx.conf", "/etc/ssh/moduli", "/etc/nftables.conf"):
        assert any(line.endswith(f" {path}") for line in before), before
    kept_before = kept_files(lab)

    result = deploy(lab, DIFUSOR, limit=NODE)
    assert result.ok, result.output[-4000:]
    assert changed_conffiles(lab) == []
    kept = kept_files(lab) - kept_before
    for flat in ("etc_nginx_nginx.conf.", "etc_ssh_moduli.", "etc_nftables.conf."):
        assert any(k.startswith(flat) for k in kept), kept
    assert "prep-iac" in sh(lab, "head -n 3 /etc/nginx/nginx.conf")
    again = deploy(lab, DIFUSOR, limit=NODE)
    assert again.ok and again.changed == 0, again.output[-4000:]


def test_reinstalling_the_packages_asks_nothing_and_keeps_our_settings(node):
    lab = node["lab"]
    paths = list(node["distro"]["conffile_diverts"]) + node["distro"]["conffile_restores"]
    owners = sh(lab, "dpkg-query -S " + " ".join(paths) + " | grep -v diversion | cut -d: -f1")
    packages = sorted(set(PACKAGES) | {p.strip() for p in owners.split()})
    out = sh(lab, "DEBIAN_FRONTEND=noninteractive apt-get install --reinstall -y -q "
                  "-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "
                  + " ".join(packages) + " </dev/null 2>&1", timeout=900)
    assert "Configuration file" not in out, out[-3000:]
    assert "*** " not in out, out[-3000:]  # dpkg's conffile question
    assert changed_conffiles(lab) == []
    sh(lab, "systemctl is-active nginx ssh nut-server nut-monitor")
    status, headers = https_get(node["address"])
    assert status == 200
    assert headers.get("content-security-policy") and headers.get("x-content-type-options")
    assert sshd_value(lab, "passwordauthentication") == "no"
    assert sshd_value(lab, "modulifile") == "/etc/ssh/prep-moduli"
    assert "table inet prep {" in sh(lab, "nft list ruleset")
    assert "worker_connections 8192" in sh(lab, "nginx -T 2>/dev/null")


# ---- the effective configuration -----------------------------------------------------------

FOREIGN = {
    # A cloud image's drop-in, read before ours: sshd keeps the first value.
    "/etc/ssh/sshd_config.d/00-local.conf": "PasswordAuthentication yes\n",
    "/etc/sysctl.d/99-x.conf": "net.ipv4.conf.all.accept_redirects = 1\n"
                               "net.ipv4.tcp_syncookies = 0\n",
    "/etc/sudoers.d/90-cloud": "intruso ALL=(ALL) NOPASSWD: ALL\nDefaults !use_pty\n",
    "/etc/nginx/conf.d/otro.conf": "server {\n    listen 80;\n    server_name otro.example;\n"
                                   "    return 200 \"otro\\n\";\n}\n",
    "/etc/nftables.d/50-otro.nft": "table inet otro {\n    chain input {\n"
                                   "        type filter hook input priority -10; policy accept;\n"
                                   "        tcp dport 8080 accept\n    }\n}\n",
}


def plant(lab) -> None:
    for path, text in FOREIGN.items():
        sh(lab, f"printf %s {shlex.quote(text)} > {path}")
    sh(lab, "chmod 440 /etc/sudoers.d/90-cloud && visudo -c -q && "
            "systemctl reload ssh && sysctl -q -p /etc/sysctl.d/99-x.conf && "
            "nginx -t -q && systemctl reload nginx && "
            "nft -f /etc/nftables.d/50-otro.nft && "
            "nft add table inet zz && nft add chain inet zz input "
            "'{ type filter hook input priority -300; policy accept; }' && "
            "nft add rule inet zz input accept")


def test_foreign_overrides_are_neutralised_by_one_deploy(node):
    lab = node["lab"]
    plant(lab)
    # They are in force before the deploy (else this test would prove nothing).
    assert sshd_value(lab, "passwordauthentication") == "yes"
    assert sh(lab, "sysctl -n net.ipv4.tcp_syncookies").strip() == "0"
    # A reload is asynchronous: the new workers answer a moment later.
    wait_for(lambda: answer_for(node["address"], "otro.example") == "200 otro\n", 15,
             what="the foreign server answering")
    tables = sh(lab, "nft list tables")
    assert "table inet zz" in tables and "table inet otro" in tables
    kept_before = kept_files(lab)

    result = deploy(lab, DIFUSOR, limit=NODE)
    assert result.ok, result.output[-4000:]

    assert sshd_value(lab, "passwordauthentication") == "no"
    assert sh(lab, "sysctl -n net.ipv4.tcp_syncookies").strip() == "1"
    assert sh(lab, "sysctl -n net.ipv4.conf.all.accept_redirects").strip() == "0"
    wait_for(lambda: "otro" not in answer_for(node["address"], "otro.example"), 15,
             what="the foreign server gone")
    tables = sh(lab, "nft list tables")
    assert "table inet zz" not in tables and "table inet otro" not in tables
    assert "table inet prep" in tables
    sh(lab, "visudo -c -q")
    assert sh(lab, "grep -rl intruso /etc/sudoers /etc/sudoers.d || true").strip() == ""
    # The admin still has sudo (the lab's own file grants to an inventory admin: kept).
    assert lab.run(NODE, "sudo -n true").returncode == 0
    # Nothing lost: every original is kept, with its text, and the journal says so.
    kept = kept_files(lab) - kept_before
    for path, text in FOREIGN.items():
        flat = path.lstrip("/").replace("/", "_") + "."
        (name,) = [k for k in kept if k.startswith(flat)]
        assert sh(lab, f"cat {NEUTRALISED}/{name}") == text
        assert not sh(lab, f"ls {path} 2>/dev/null || true").strip()
    assert any(k.startswith("nftables-table-inet-zz.") for k in kept), kept
    journal = sh(lab, "journalctl -q -o cat -t prep-iac --since -15min")
    for path in FOREIGN:
        assert f"{path} neutralised" in journal, journal[-3000:]

    again = deploy(lab, DIFUSOR, limit=NODE)
    assert again.ok and again.changed == 0, again.output[-4000:]
