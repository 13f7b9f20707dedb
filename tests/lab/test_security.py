"""Security on real lab hosts (CONV-IV.1, II.c.3, II.d.1, II.d.2, II.e, IV.3).

Run it on its own lab:  PREP_LAB_NAME=sec PREP_LAB_SUBNET=10.84.0.0/24 pytest tests/lab/test_security.py

The inventory is narrowed so the lab plays every role: admins = the controller and
difusor-2; IEC source = publisher-1; difusor-2's second address is an outsider. Attacks
come from lab hosts, never from the controller (a ban there would cut the test's own SSH).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import deploy  # tests/lab/conftest.py (pytest puts tests/lab on the path)
from security.setup import (
    DEPLOY_FULL,
    PROBE,
    banned,
    gateway,
    journal_since,
    probe,
    publish_generated_cut,
    remove_written,
    stranger,
    sudo,
    wait_for,
    write_inventory,
)

pytestmark = pytest.mark.lab
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sec(lab):
    """The lab, secured twice with the narrowed inventory; addresses by role."""
    hosts = lab.hosts
    d1, d2, pub = hosts["difusor-1"], hosts["difusor-2"], hosts["publisher-1"]
    gw = gateway(lab.spec.subnet)
    inventory = write_inventory(lab, "security", admins=[f"{gw}/32", f"{d2}/32"],
                                iec=[f"{pub}/32"])
    try:
        env = {"PREP_INVENTORY": str(inventory)}
        first = deploy(lab, DEPLOY_FULL, extra_env=env)
        assert first.ok, first.output[-4000:]
        second = deploy(lab, DEPLOY_FULL, extra_env=env)
        # A second address on difusor-2, outside admins.networks and the IEC sources.
        outsider = stranger(lab.spec.subnet)
        lab.nsenter("difusor-2", ["ip", "addr", "replace", f"{outsider}/24", "dev", "host0"],
                    check=True)
        yield {"lab": lab, "inventory": inventory, "env": env, "first": first,
               "second": second, "d1": d1, "d2": d2, "pub": pub, "gw": gw,
               "outsider": outsider}
    finally:
        remove_written()


def fresh_fail2ban(lab, name: str, jail: str, bantime: int) -> None:
    """Failure counts survive an unban: restart, then a short ban time for this test."""
    sudo(lab, name, "systemctl restart fail2ban")
    wait_for(lambda: sudo(lab, name, f"fail2ban-client status {jail}").returncode == 0, 30,
             what=f"fail2ban jail {jail}")
    assert sudo(lab, name, f"fail2ban-client set {jail} bantime {bantime}").returncode == 0


# ---- deploy ------------------------------------------------------------------------------

@pytest.mark.conv("CONV-II.d.1", "CONV-IV.1")
def test_conv_deploy_twice_second_changes_nothing(sec):
    assert sec["second"].ok, sec["second"].output[-3000:]
    assert sec["second"].changed == 0, sec["second"].output[-6000:]


@pytest.mark.conv("CONV-IV.1", "CONV-II.c.3", "CONV-II.d.1", "CONV-II.d.2", "CONV-II.e")
def test_conv_host_checks_pass_on_difusor_and_publisher(sec):
    lab = sec["lab"]
    hosts = ",".join(f"ssh://prepadmin@{sec[k]}" for k in ("d1", "pub"))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         str(REPO / "prep_iac/conformance/suites/test_security.py"), f"--hosts={hosts}",
         f"--ssh-config={lab.ssh_config_path}", "--sudo", f"--prep-inventory={sec['inventory']}"],
        cwd=REPO, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-5000:]


# ---- firewall ----------------------------------------------------------------------------

@pytest.mark.conv("CONV-II.d.1")
def test_conv_II_d_1_only_web_and_admin_ssh_answer(sec):
    lab, d1 = sec["lab"], sec["d1"]
    for port in (80, 443, 22):  # difusor-2 is in admins.networks
        assert probe(lab, "difusor-2", "tcp", d1, str(port))["state"] == "open", port
    for port in (25, 3493, 8080, 5432):
        assert probe(lab, "difusor-2", "tcp", d1, str(port), "--timeout", "2")["state"] == \
            "timeout", port
    # From an address outside admins.networks and the IEC sources: web yes, SSH no.
    out = sec["outsider"]
    assert probe(lab, "difusor-2", "tcp", d1, "80", "--bind", out)["state"] == "open"
    assert probe(lab, "difusor-2", "tcp", d1, "22", "--bind", out, "--timeout", "3")[
        "state"] == "timeout"
    # The IEC source reaches SSH (the SFTP jail) on a difusor.
    assert probe(lab, "publisher-1", "tcp", d1, "22")["state"] == "open"


@pytest.mark.conv("CONV-II.d.1")
def test_conv_II_d_1_publisher_ssh_from_admins_only(sec):
    lab, pub = sec["lab"], sec["pub"]
    assert probe(lab, "difusor-2", "tcp", pub, "22")["state"] == "open"  # admin network
    assert probe(lab, "difusor-1", "tcp", pub, "22", "--timeout", "3")["state"] == "timeout"
    assert probe(lab, "difusor-2", "tcp", pub, "80", "--timeout", "2")["state"] == "timeout"
    # Outbound SSH from the publisher to the difusores works (and is counted).
    assert probe(lab, "publisher-1", "tcp", sec["d1"], "22")["state"] == "open"


@pytest.mark.conv("CONV-II.d.1", "CONV-IV.3")
def test_conv_II_d_1_connection_flood_cut_other_source_served(sec):
    """One source opens 150 connections (cap 20): the excess is refused within bounded time,
    and another source is still served meanwhile."""
    lab, d1 = sec["lab"], sec["d1"]
    started = time.monotonic()
    flood = subprocess.Popen(
        lab.ssh_command("difusor-2", f"python3 - flood {d1} 80 150 --hold 8"),
        stdin=PROBE.open("rb"), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(3)
        assert probe(lab, "publisher-1", "http", f"https://{d1}/portal/")["status"] == 200
        out, _err = flood.communicate(timeout=120)
    finally:
        flood.kill()
    result = json.loads(out.decode().strip().splitlines()[-1])
    assert result["open"] <= 20 + 2, result  # the per-source cap (rate_limits.connections)
    assert result["refused"] + result["timeout"] >= 100, result
    assert time.monotonic() - started < 90
    counters = sudo(lab, "difusor-1", "nft list counter inet prep web_conn_over").stdout
    assert "packets 0 " not in counters, counters


# ---- SSH and admin access ----------------------------------------------------------------

@pytest.mark.conv("CONV-IV.1", devsec="sshd-06,sshd-27")
def test_conv_IV_1_password_and_root_refused(sec):
    lab, d1 = sec["lab"], sec["d1"]
    # Password and keyboard-interactive: the server offers only publickey.
    attempt = sudo(lab, "difusor-2",
                   f"ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o ConnectTimeout=5 "
                   f"-o PubkeyAuthentication=no -o PreferredAuthentications=password,"
                   f"keyboard-interactive prepadmin@{d1} true 2>&1; echo rc=$?")
    assert "Permission denied (publickey)" in attempt.stdout and "rc=255" in attempt.stdout
    # root, with the admin's own valid key: refused (not in AllowGroups, PermitRootLogin no).
    root = subprocess.run(["ssh", "-F", str(lab.ssh_config_path), "-o", "ControlMaster=no",
                           "-o", "ControlPath=none", f"root@{d1}", "true"],
                          capture_output=True, text=True, timeout=30, check=False)
    assert root.returncode == 255 and "Permission denied" in root.stderr
    log = sudo(lab, "difusor-1", "journalctl -q -u ssh --since -2min -o cat").stdout
    assert "not allowed because" in log or "ROOT LOGIN REFUSED" in log


@pytest.mark.conv("CONV-II.d.2", "CONV-IV.1")
def test_conv_II_d_2_ssh_bruteforce_banned_then_unbanned(sec):
    lab, d1, d2 = sec["lab"], sec["d1"], sec["d2"]
    fresh_fail2ban(lab, "difusor-1", "sshd", bantime=20)
    for _ in range(8):  # bounded: the jail's maxretry is 5
        sudo(lab, "difusor-2", f"timeout 8 ssh -o BatchMode=yes -o StrictHostKeyChecking=no "
                               f"-o ConnectTimeout=3 intruso@{d1} true")
        if banned(lab, "difusor-1", d2):
            break
    wait_for(lambda: banned(lab, "difusor-1", d2), 20, what=f"{d2} in banned4")
    assert probe(lab, "difusor-2", "tcp", d1, "80", "--timeout", "2")["state"] == "timeout"
    assert probe(lab, "publisher-1", "tcp", d1, "80")["state"] == "open"  # others unaffected
    wait_for(lambda: not banned(lab, "difusor-1", d2), 60, what=f"{d2} unbanned")
    wait_for(lambda: probe(lab, "difusor-2", "tcp", d1, "22")["state"] == "open", 20,
             what="SSH open again after the ban")
    # fail2ban logs to the journal (the memoria reads bans there).
    log = sudo(lab, "difusor-1", "journalctl -q -o cat -u fail2ban --since -15min "
                                 "| grep -E '\\[sshd\\] (Ban|Unban) '").stdout
    assert f"Ban {d2}" in log and f"Unban {d2}" in log


# ---- web attacks -------------------------------------------------------------------------

@pytest.mark.conv("CONV-II.d.2", "CONV-IV.3", devsec="nginx-06")
def test_conv_II_d_2_web_attacks_blocked_banned_prep_still_loads(sec, tmp_path):
    lab, d1, d2 = sec["lab"], sec["d1"], sec["d2"]
    _cut, paths = publish_generated_cut(lab, "difusor-1", tmp_path)
    fresh_fail2ban(lab, "difusor-1", "prep-nginx-blocked", bantime=20)
    sudo(lab, "difusor-1", "truncate -s 0 /var/log/nginx/prep.blocked.log")

    # Every page and file of the PREP loads (no false positives), from the IEC's host.
    statuses = {}
    for path in paths[:120]:
        statuses[path] = probe(lab, "publisher-1", "http", f"https://{d1}{path}")["status"]
    assert not [p for p, s in statuses.items() if s != 200], statuses

    attacks = [("http", f"https://{d1}/?id=1%27%20OR%20%271%27=%271"),
               ("http", f"https://{d1}/index.html?q=1+UNION+SELECT+user,pass+FROM+users"),
               ("http", f"https://{d1}/index.html?archivo=..%2f..%2f..%2fetc%2fpasswd"),
               ("http", f"https://{d1}/.env")]
    for kind, url in attacks:
        assert probe(lab, "difusor-2", kind, url)["status"] == 403, url
    # A path that climbs above the root: nginx itself refuses it (400) before any filter.
    assert probe(lab, "difusor-2", "http", f"https://{d1}/%2e%2e/%2e%2e/etc/passwd")[
        "status"] in (400, 403)
    assert probe(lab, "difusor-2", "http", f"https://{d1}/index.html", "--agent",
                 "sqlmap/1.7.2#stable")["status"] == 403
    # A scanner burst: 403s, then the source is banned (bounded: 30 requests at most).
    probe(lab, "difusor-2", "burst", f"https://{d1}/wp-login.php", "30")
    wait_for(lambda: banned(lab, "difusor-1", d2), 20, what="scanner banned")
    assert probe(lab, "difusor-2", "tcp", d1, "443", "--timeout", "2")["state"] == "timeout"
    # Meanwhile the PREP still loads for everyone else.
    assert probe(lab, "publisher-1", "http", f"https://{d1}/index.html")["status"] == 200
    blocked = sudo(lab, "difusor-1", "cat /var/log/nginx/prep.blocked.log").stdout
    assert d2 in blocked and sec["pub"] not in blocked
    wait_for(lambda: not banned(lab, "difusor-1", d2), 60, what="scanner unbanned")


# ---- UPS ---------------------------------------------------------------------------------

def set_ups(lab, name: str, status: str) -> None:
    sudo(lab, name, f"sed -i 's/^ups.status: .*/ups.status: {status}/' /etc/nut/ups.seq")


def ups_status(lab, name: str) -> str:
    return sudo(lab, name, "upsc ups@localhost ups.status 2>/dev/null").stdout.strip()


@pytest.mark.conv("CONV-II.e")
def test_conv_II_e_ups_online_then_on_battery_notifies(sec):
    lab = sec["lab"]
    assert ups_status(lab, "difusor-1") == "OL"
    since = sudo(lab, "difusor-1", "date '+%Y-%m-%d %H:%M:%S'").stdout.strip()
    set_ups(lab, "difusor-1", "OB")
    try:
        wait_for(lambda: "ONBATT ups" in journal_since(lab, "difusor-1", "prep-ups", since), 40,
                 what="ONBATT in the journal as prep-ups")
    finally:
        set_ups(lab, "difusor-1", "OL")
    wait_for(lambda: "ONLINE ups" in journal_since(lab, "difusor-1", "prep-ups", since), 40,
             what="ONLINE in the journal")
    assert lab.is_running("difusor-1")


@pytest.mark.conv("CONV-II.e")
def test_conv_II_e_low_battery_clean_shutdown(sec):
    """difusor-2 plays the dying UPS: OB LB -> upsmon's SHUTDOWNCMD -> the host powers off.
    It is booted again afterwards with the UPS back on line."""
    lab = sec["lab"]
    set_ups(lab, "difusor-2", "OB LB")
    try:
        wait_for(lambda: not lab.is_running("difusor-2"), 90, step=2,
                 what="difusor-2 to power off")
    finally:
        seq = lab.host_paths("difusor-2").upper / "etc/nut/ups.seq"
        if lab.is_running("difusor-2"):
            set_ups(lab, "difusor-2", "OL")
        elif seq.exists():
            seq.write_text(seq.read_text().replace("ups.status: OB LB", "ups.status: OL"))
    lab.start_host("difusor-2")
    wait_for(lambda: ups_status(lab, "difusor-2") == "OL", 60, what="UPS online after boot")
    lab.nsenter("difusor-2", ["ip", "addr", "replace", f"{sec['outsider']}/24", "dev",
                              "host0"], check=True)


# ---- bad input -----------------------------------------------------------------------------

@pytest.mark.conv("CONV-IV.1")
def test_conv_IV_1_admin_network_excluding_deployer_refused_before_any_change(sec):
    lab = sec["lab"]
    # Config files, not live counters or dynamic sets (they change with every packet).
    files = ("/etc/nftables.conf /etc/ssh/sshd_config.d/* /etc/sudoers.d/prep-admins "
             "/etc/fail2ban/jail.d/prep.local /etc/nginx/prep.d/*")
    before = sudo(lab, "difusor-1", f"sha256sum {files}").stdout
    elsewhere = write_inventory(lab, "locked-out", admins=["192.0.2.0/24"],
                                iec=[f"{sec['pub']}/32"])
    result = deploy(lab, DEPLOY_FULL, extra_env={"PREP_INVENTORY": str(elsewhere)})
    assert result.returncode != 0
    assert "outside admins.networks" in result.output and sec["gw"] in result.output
    assert "Success" not in result.output
    after = sudo(lab, "difusor-1", f"sha256sum {files}").stdout
    assert before == after


@pytest.mark.conv("CONV-II.d.1")
def test_conv_II_d_1_invalid_ruleset_not_loaded(sec):
    """A ruleset nft rejects (here: a broken fragment it includes) is never loaded: the
    running one stays and the deploy fails with nft's own message."""
    lab = sec["lab"]
    sudo(lab, "difusor-1", "printf 'table inet broken {\\n chain x { tcp dport 22 frobnicate }\\n}\\n'"
                           " > /etc/nftables.d/zz-broken.nft")
    conf_before = sudo(lab, "difusor-1", "sha256sum /etc/nftables.conf").stdout
    changed = write_inventory(lab, "limits-21", admins=[f"{sec['gw']}/32", f"{sec['d2']}/32"],
                              iec=[f"{sec['pub']}/32"],
                              limits={"requests_per_s": 50, "burst": 200, "connections": 21,
                                      "new_connections_per_s": 20})
    try:
        result = deploy(lab, DEPLOY_FULL, limit="difusor-1",
                        extra_env={"PREP_INVENTORY": str(changed)})
        assert result.returncode != 0
        assert "zz-broken.nft" in result.output and "Error" in result.output
        assert sudo(lab, "difusor-1", "sha256sum /etc/nftables.conf").stdout == conf_before
        loaded = sudo(lab, "difusor-1", "nft list table inet prep").stdout
        assert "ct count over 20 " in loaded and "ct count over 21 " not in loaded
        assert "table inet broken" not in sudo(lab, "difusor-1", "nft list tables").stdout
    finally:
        sudo(lab, "difusor-1", "rm -f /etc/nftables.d/zz-broken.nft")


@pytest.mark.conv("CONV-II.d.2")
def test_conv_II_d_2_invalid_jail_config_not_loaded(sec):
    lab = sec["lab"]
    sudo(lab, "difusor-1", "printf '[prep-broken]\\nenabled = true\\nfilter = no-such-filter\\n"
                           "logpath = /var/log/nginx/error.log\\n' > /etc/fail2ban/jail.d/zz-broken.local")
    jails_before = sudo(lab, "difusor-1", "cat /etc/fail2ban/jail.d/prep.local").stdout
    changed = write_inventory(lab, "iec-2", admins=[f"{sec['gw']}/32", f"{sec['d2']}/32"],
                              iec=[f"{sec['pub']}/32", "198.51.100.7/32"])
    try:
        result = deploy(lab, DEPLOY_FULL, limit="difusor-1",
                        extra_env={"PREP_INVENTORY": str(changed)})
        assert result.returncode != 0
        assert "no-such-filter" in result.output
        assert sudo(lab, "difusor-1", "cat /etc/fail2ban/jail.d/prep.local").stdout == jails_before
        status = sudo(lab, "difusor-1", "fail2ban-client status").stdout
        assert "sshd" in status and "prep-broken" not in status
    finally:
        sudo(lab, "difusor-1", "rm -f /etc/fail2ban/jail.d/zz-broken.local")

