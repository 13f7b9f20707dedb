"""Security on real lab hosts (CONV-IV.1, II.c.3, II.d.1, II.d.2, II.e, IV.3).

Run it on its own lab:  PREP_LAB_NAME=sec PREP_LAB_SUBNET=10.84.0.0/24 pytest tests/lab/test_security.py

The inventory is narrowed so the lab plays every role: admins = the controller and
difusor-2; IEC source = publisher-1; difusor-2's second address is an outsider. Attacks
come from lab hosts, never from the controller (a ban there would cut the test's own SSH).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import deploy  # tests/lab/conftest.py (pytest puts tests/lab on the path)
from security.crosssite import RESULT, VOLUME, CrossSite
from security.setup import (
    DEPLOY_FULL,
    PROBE,
    ban_left,
    ban_sets_with,
    banned,
    f2b,
    f2b_journal,
    gateway,
    get_from_here,
    jail_list,
    jails_banning,
    journal_since,
    probe,
    publish_generated_cut,
    remove_written,
    say,
    stranger,
    sudo,
    unignored,
    wait_for,
    write_inventory,
)
from web import browser

from prep_iac.components.firewall import RULESET
from prep_iac.components.waf import VOLUME_LOG
from prep_iac.contract import ACCESS_LOG

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
    wait_for(lambda: sudo(lab, name, f"fail2ban-client status {jail}").returncode == 0, 60,
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
def test_conv_IV_1_admin_key_failures_never_banned(sec):
    """An admin whose agent offers several wrong keys, again and again, is not banned."""
    lab, d1, d2 = sec["lab"], sec["d1"], sec["d2"]
    fresh_fail2ban(lab, "difusor-1", "sshd", bantime=20)
    for _ in range(8):  # bounded; the jail's maxretry is 5
        sudo(lab, "difusor-2", f"timeout 8 ssh -o BatchMode=yes -o StrictHostKeyChecking=no "
                               f"-o ConnectTimeout=3 intruso@{d1} true")
    log = wait_for(lambda: "Ignore " + d2 in (out := f2b_journal(lab, "difusor-1")) and out,
                   20, what=f"fail2ban ignoring {d2} (admin network)")
    assert f"Ban {d2}" not in log
    assert not banned(lab, "difusor-1", d2)
    assert probe(lab, "difusor-2", "tcp", d1, "22")["state"] == "open"


@pytest.mark.conv("CONV-II.d.2", "CONV-IV.1")
def test_conv_II_d_2_ssh_bruteforce_banned_then_unbanned(sec):
    """A source outside the admin networks that reaches sshd and fails is banned. In the lab
    only admins and the IEC reach sshd, and fail2ban ignores both: difusor-2 is taken out of
    the sshd jail's ignore list for this test."""
    lab, d1, d2 = sec["lab"], sec["d1"], sec["d2"]
    fresh_fail2ban(lab, "difusor-1", "sshd", bantime=20)
    with unignored(lab, "difusor-1", f"{d2}/32", ["sshd"]):
        for _ in range(8):  # bounded: the jail's maxretry is 5
            sudo(lab, "difusor-2", f"timeout 8 ssh -o BatchMode=yes -o StrictHostKeyChecking=no "
                                   f"-o ConnectTimeout=3 intruso@{d1} true")
            if banned(lab, "difusor-1", d2):
                break
        wait_for(lambda: banned(lab, "difusor-1", d2), 20, what=f"{d2} in banned4")
        assert probe(lab, "difusor-2", "tcp", d1, "80", "--timeout", "2")["state"] == "timeout"
        assert probe(lab, "publisher-1", "tcp", d1, "80")["state"] == "open"  # others served
        wait_for(lambda: not banned(lab, "difusor-1", d2), 60, what=f"{d2} unbanned")
    wait_for(lambda: probe(lab, "difusor-2", "tcp", d1, "22")["state"] == "open", 20,
             what="SSH open again after the ban")
    # fail2ban logs to the journal (the memoria reads bans there).
    log = f2b_journal(lab, "difusor-1")
    assert f"[sshd] Ban {d2}" in log and f"[sshd] Unban {d2}" in log


@pytest.mark.conv("CONV-IV.1", "CONV-II.d.2")
def test_conv_IV_1_admin_session_survives_a_ban(sec):
    """An admin's open SSH session keeps working while its address is banned; a new
    connection from that address is dropped until the ban ends. The controller is the admin
    here: everything during the ban goes through nsenter, not SSH."""
    lab, d1, gw = sec["lab"], sec["d1"], sec["gw"]
    session = subprocess.Popen(
        ["ssh", "-F", str(lab.ssh_config_path), "-o", "ControlMaster=no", "-o",
         "ControlPath=none", "difusor-1", "sh"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert say(session, "echo viva-1") == "viva-1"
        with unignored(lab, "difusor-1", f"{gw}/32", ["sshd"]):
            try:
                assert f2b(lab, "difusor-1", f"set sshd banip {gw}").returncode == 0
                wait_for(lambda: banned(lab, "difusor-1", gw, nsenter=True), 20,
                         what=f"{gw} in banned4")
                # A new connection from the banned address: dropped.
                with pytest.raises(OSError):
                    socket.create_connection((d1, 22), timeout=3).close()
                # The open session: still answers, on the same connection.
                assert say(session, "echo viva-2") == "viva-2"
            finally:
                f2b(lab, "difusor-1", f"set sshd unbanip {gw}")
                lab.nsenter("difusor-1", f"nft delete element inet prep banned4 '{{ {gw} }}'",
                            timeout=30)
        assert not banned(lab, "difusor-1", gw, nsenter=True)
    finally:
        session.kill()
        session.wait(10)


@pytest.mark.conv("CONV-II.d.2")
def test_conv_II_d_2_recidive_escalates_from_the_journal(sec):
    """Five bans of one address in a day: recidive (reading fail2ban's own journal) bans it
    for a day, and the end of a short ban does not lift the day-long one. 192.0.2.77 is a
    documentation address: nothing is ever sent to it."""
    lab, x = sec["lab"], "192.0.2.77"
    try:
        for i in range(5):
            assert f2b(lab, "difusor-1", f"set sshd banip {x}").returncode == 0
            if i < 4:
                assert f2b(lab, "difusor-1", f"set sshd unbanip {x}").returncode == 0
        wait_for(lambda: x in f2b(lab, "difusor-1", "status recidive").stdout, 40,
                 what=f"recidive banning {x}")
        # The element now carries the day: more than the sshd jail's hour left.
        wait_for(lambda: ban_left(lab, "difusor-1", x) > 3600, 20,
                 what="the ban lengthened to a day")
        # The short (sshd) ban ends: the day-long one stays.
        assert f2b(lab, "difusor-1", f"set sshd unbanip {x}").returncode == 0
        assert ban_left(lab, "difusor-1", x) > 3600
        log = f2b_journal(lab, "difusor-1")
        assert f"[recidive] Ban {x}" in log, log[-2000:]
    finally:
        f2b(lab, "difusor-1", f"set recidive unbanip {x}")
        f2b(lab, "difusor-1", f"set sshd unbanip {x}")
    assert not banned(lab, "difusor-1", x, nsenter=True)


# ---- web attacks -------------------------------------------------------------------------

@pytest.mark.conv("CONV-II.d.2", "CONV-IV.3", devsec="nginx-06")
def test_conv_II_d_2_web_attacks_blocked_not_banned_prep_still_loads(sec, tmp_path):
    """Attacks get 403 and go to the blocked log; no ban (a page can make a browser send
    them). From an address outside every ignored network."""
    lab, d1, out = sec["lab"], sec["d1"], sec["outsider"]
    _cut, paths = publish_generated_cut(lab, "difusor-1", tmp_path)
    fresh_fail2ban(lab, "difusor-1", "recidive", bantime=20)
    sudo(lab, "difusor-1", "truncate -s 0 /var/log/nginx/prep.blocked.log")

    # Every page and file of the PREP loads (no false positives), from the IEC's host.
    statuses = {}
    for path in paths[:120]:
        statuses[path] = probe(lab, "publisher-1", "http", f"https://{d1}{path}")["status"]
    assert not [p for p, s in statuses.items() if s != 200], statuses

    attacks = [f"https://{d1}/?id=1%27%20OR%20%271%27=%271",
               f"https://{d1}/index.html?q=1+UNION+SELECT+user,pass+FROM+users",
               f"https://{d1}/index.html?archivo=..%2f..%2f..%2fetc%2fpasswd",
               f"https://{d1}/.env"]
    for url in attacks:
        assert probe(lab, "difusor-2", "http", url, "--bind", out)["status"] == 403, url
    # A path that climbs above the root: nginx itself refuses it (400) before any filter.
    assert probe(lab, "difusor-2", "http", f"https://{d1}/%2e%2e/%2e%2e/etc/passwd",
                 "--bind", out)["status"] in (400, 403)
    assert probe(lab, "difusor-2", "http", f"https://{d1}/index.html", "--agent",
                 "sqlmap/1.7.2#stable", "--bind", out)["status"] == 403
    # Thirty probes: every one 403, and the source is still served afterwards.
    codes = probe(lab, "difusor-2", "volume", f"https://{d1}/wp-login.php", "30",
                  "--bind", out)["codes"]
    assert codes == {"403": 30}, codes
    time.sleep(8)  # fail2ban reads the logs every second or so
    assert not banned(lab, "difusor-1", out)
    assert probe(lab, "difusor-2", "http", f"https://{d1}/index.html", "--bind", out)[
        "status"] == 200
    blocked = sudo(lab, "difusor-1", "cat /var/log/nginx/prep.blocked.log").stdout
    assert blocked.count(out) >= 30 + len(attacks) and sec["pub"] not in blocked


@pytest.mark.conv("CONV-II.d.2", "CONV-IV.3")
def test_conv_II_d_2_volume_from_a_tool_banned_from_browsers_not(sec):
    """Over the request limit (lab: 50/s, burst 200): requests a browser sent (Fetch
    Metadata, a browser's user agent) are refused with 429 and never banned; the same volume
    from a tool is banned, and everyone else is served meanwhile."""
    lab, d1, out = sec["lab"], sec["d1"], sec["outsider"]
    fresh_fail2ban(lab, "difusor-1", "prep-web-volume", bantime=20)
    url = f"https://{d1}/index.html"
    chrome = ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/126.0.0.0 Mobile Safari/537.36")
    browser_like = probe(lab, "difusor-2", "volume", url, "1000", "--bind", out, "--agent",
                         chrome, "--header", "Sec-Fetch-Site: cross-site", "--header",
                         "Sec-Fetch-Mode: no-cors", "--header", "Sec-Fetch-Dest: image")["codes"]
    assert browser_like.get("429", 0) >= 400, browser_like  # what the old jail counted
    time.sleep(8)
    assert not banned(lab, "difusor-1", out)
    assert probe(lab, "difusor-2", "http", url, "--bind", out)["status"] == 200

    time.sleep(5)  # the request budget refills (50/s)
    tool = probe(lab, "difusor-2", "volume", url, "1000", "--bind", out, "--agent",
                 "Go-http-client/1.1")["codes"]
    assert tool.get("429", 0) >= 300, tool
    wait_for(lambda: banned(lab, "difusor-1", out), 20, what="the tool's address banned")
    assert probe(lab, "difusor-2", "tcp", d1, "443", "--bind", out, "--timeout", "2")[
        "state"] == "timeout"
    assert probe(lab, "publisher-1", "http", url)["status"] == 200  # others still served
    wait_for(lambda: not banned(lab, "difusor-1", out), 60, what="the tool's address unbanned")


@pytest.mark.conv("CONV-II.d.2", "CONV-IV.3")
def test_conv_II_d_2_cross_site_page_cannot_get_its_visitor_banned(sec, tmp_path):
    """Headless Chromium visits a page on another origin that embeds probe URIs of the
    difusor (img, script, iframe) and makes 1,500 GETs to it (a loop bounded in count and
    time): the probes get 403, the volume 429, and the visitor is not banned (in no ban set,
    in no jail's list); a plain GET from its address gets 200 and the PREP loads in the same
    browser. The browser runs on the controller (an admin address): it is taken out of every
    jail's ignore list for the test, so it is treated as any visitor."""
    if not browser.chromium():
        pytest.fail("Debian's chromium is needed: apt-get install chromium (./dev bootstrap)")
    lab, d1, gw = sec["lab"], sec["d1"], sec["gw"]
    cut, _paths = publish_generated_cut(lab, "difusor-1", tmp_path)
    fresh_fail2ban(lab, "difusor-1", "recidive", bantime=20)
    before = int(sudo(lab, "difusor-1", f"wc -l < {ACCESS_LOG}").stdout.strip() or 0)
    # Earlier tests (audits' bounded bursts, the pentest) leave lines of this address here.
    volume_before = int(sudo(lab, "difusor-1", f"wc -l < {VOLUME_LOG} 2>/dev/null").stdout
                        .strip() or 0)
    other = CrossSite(gw, "https://prep.lab")
    b = None
    try:
        with unignored(lab, "difusor-1", f"{gw}/32", jail_list(lab, "difusor-1")):
            b = browser.Browser([f"--host-resolver-rules=MAP prep.lab {d1}",
                                 "--ignore-certificate-errors"], timeout=60)
            b.open(other.origin + "/")
            # The page's loop is bounded (count, time per fetch, time in all: ~65 s at most).
            frames = b.wait_for(lambda f: f and "hecho " in f[0]["text"], timeout=90)
            text = frames[0]["text"] if frames else "(no page)"
            result = RESULT.search(text)
            assert result, (text[-600:], b.console()[-20:])
            total, answered, failed, timed_out, unsent = map(int, result.groups())
            assert total == VOLUME == answered + failed + timed_out + unsent, text[-600:]
            # nginx answered them (200 or 429, opaque to the page): the volume was sent.
            assert answered >= 300, (text[-600:], b.console()[-20:])
            time.sleep(8)  # fail2ban reads the logs every second or so
            # What a user would check: the visitor's address is in no ban set, no jail
            # lists it, and a plain page load from it is served.
            assert ban_sets_with(lab, "difusor-1", gw) == []
            assert jails_banning(lab, "difusor-1", gw) == []
            assert get_from_here(f"https://{d1}/index.html") == 200
            b.open("https://prep.lab/index.html")
            shown = b.wait_for(lambda f: f and cut in f[0]["text"], timeout=30)
            assert shown and cut in shown[0]["text"], shown[:1]
    finally:
        if b is not None:
            b.close()
        other.close()
        f2b(lab, "difusor-1", f"unban {gw}")
    # The page did make the browser send them: probes refused (403), volume refused (429).
    access = lab.nsenter("difusor-1", f"tail -n +{before + 1} {ACCESS_LOG}",
                          timeout=30).stdout
    mine = [line for line in access.splitlines() if line.startswith(gw + " ")]
    assert sum(' 403 ' in line for line in mine) >= 8, mine[-20:]
    assert sum(' 429 ' in line for line in mine) >= 1, mine[-20:]
    volume = lab.nsenter("difusor-1", f"tail -n +{volume_before + 1} {VOLUME_LOG}",
                         timeout=30).stdout
    assert gw + " " not in volume


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
    files = (f"{RULESET} /etc/ssh/sshd_config.d/* /etc/sudoers.d/prep-admins "
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
    conf_before = sudo(lab, "difusor-1", f"sha256sum {RULESET}").stdout
    changed = write_inventory(lab, "limits-21", admins=[f"{sec['gw']}/32", f"{sec['d2']}/32"],
                              iec=[f"{sec['pub']}/32"],
                              limits={"requests_per_s": 50, "burst": 200, "connections": 21,
                                      "new_connections_per_s": 20})
    try:
        result = deploy(lab, DEPLOY_FULL, limit="difusor-1",
                        extra_env={"PREP_INVENTORY": str(changed)})
        assert result.returncode != 0
        assert "zz-broken.nft" in result.output and "Error" in result.output
        assert sudo(lab, "difusor-1", f"sha256sum {RULESET}").stdout == conf_before
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

