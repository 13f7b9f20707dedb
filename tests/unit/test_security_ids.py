"""fail2ban (issue 17): who can be banned, the recidive jail, the admins' safety, the
nftables ordering that keeps an admin's session through a ban, and the deploy's wait for
fail2ban before reloading it. The lab proves the same on real hosts (tests/lab)."""

import inspect
import os
import re
import subprocess
import types

import pytest
from pyinfra.api.exceptions import DeployError

from prep_iac.components import common, firewall, ids, waf
from prep_iac.inventory import load_inventory
from prep_iac.inventory.hostconfig import HostConfig


def cfg(path, group):
    inventory = load_inventory(path)
    name = next(iter(getattr(inventory, group)))
    return HostConfig(inventory, path, name, "difusor" if group == "difusores" else "publisher")


@pytest.fixture
def difusor():
    return cfg("inventories/example-difusor.yml", "difusores")


@pytest.fixture
def publisher():
    return cfg("inventories/example-iec.yml", "publishers")


def section(text: str, name: str) -> str:
    return text.split(f"[{name}]", 1)[1].split("\n[", 1)[0]


def fail2ban_regex(failregex: str) -> re.Pattern:
    """A fail2ban failregex as Python `re` (<HOST> is an address here)."""
    return re.compile(failregex.replace("<HOST>", r"(?P<host>[0-9a-fA-F.:]+)"))


def failregex(text: str) -> str:
    return next(line.split("=", 1)[1].strip() for line in text.splitlines()
                if line.startswith("failregex"))


# ---- who is never banned ----------------------------------------------------------------

def test_admin_networks_and_iec_never_banned(difusor):
    text = ids.jails(difusor, "ssh", [22])
    ignoreip = next(line for line in text.splitlines() if line.startswith("ignoreip"))
    for network in [*difusor.admins.networks, *difusor.iec.sources, "127.0.0.0/8", "::1"]:
        assert network in ignoreip.split(), (network, ignoreip)


def test_publisher_ignores_admins(publisher):
    assert set(publisher.admins.networks) <= set(ids.ignored(publisher))


# ---- which jails ------------------------------------------------------------------------

def test_no_ban_for_probe_uris(difusor):
    """A page on another site can make its visitors' browsers request probe URIs: no jail
    reads the blocked log, and the old probe jail is gone (its filter removed from hosts)."""
    text = ids.jails(difusor, "ssh", [22])
    assert "prep-nginx-blocked" not in text and waf.BLOCKED_LOG not in text
    assert "nginx-limit-req" not in text  # counted every 429, browsers' included
    assert "/etc/fail2ban/filter.d/prep-nginx-blocked.conf" in ids.STALE
    volume = section(text, "prep-web-volume")
    assert f"logpath = {waf.VOLUME_LOG}" in volume and "filter = prep-web-volume" in volume


def test_recidive_reads_the_journal(difusor):
    text = ids.jails(difusor, "ssh", [22])
    recidive = section(text, "recidive")
    assert "backend = systemd" in recidive and "filter = prep-recidive" in recidive
    assert "logpath" not in recidive and "/var/log/fail2ban.log" not in text
    files = ids.contents(difusor, "ssh", [22])
    assert "logtarget = SYSTEMD-JOURNAL" in files[ids.SERVER]
    assert "journalmatch = _SYSTEMD_UNIT=fail2ban.service" in files[ids.RECIDIVE_FILTER]


def test_recidive_filter_counts_other_jails_bans_only(difusor):
    pattern = fail2ban_regex(failregex(ids.contents(difusor, "ssh", [22])[ids.RECIDIVE_FILTER]))
    # The line fail2ban's systemd backend builds from its own journal entries: host,
    # SYSLOG_IDENTIFIER[pid]: MESSAGE, and MESSAGE has no level word (JournalHandler).
    hit = pattern.search("difusor-1 fail2ban[2871]: [sshd] Ban 192.0.2.7")
    assert hit and hit.group("host") == "192.0.2.7"
    assert pattern.search("difusor-1 fail2ban[1]: [prep-web-volume] Ban 2001:db8::7")
    assert not pattern.search("difusor-1 fail2ban[1]: [recidive] Ban 192.0.2.7")
    assert not pattern.search("difusor-1 fail2ban[1]: [sshd] Restore Ban 192.0.2.7")
    assert not pattern.search("difusor-1 fail2ban[1]: [sshd] Unban 192.0.2.7")
    assert not pattern.search("difusor-1 fail2ban[1]: [sshd] Found 192.0.2.7 - 2024-06-02")


def test_volume_filter_matches_the_volume_log_lines(difusor):
    pattern = fail2ban_regex(failregex(ids.contents(difusor, "ssh", [22])[ids.VOLUME_FILTER]))
    # fail2ban cuts the date out before matching: hence the empty [].
    line = '192.0.2.9 - - [] "GET /index.html HTTP/1.1" 429 169 "-" "Go-http-client/1.1" rt=0.000'
    assert pattern.search(line).group("host") == "192.0.2.9"
    assert not pattern.search(line.replace(" 429 ", " 200 "))


# ---- what counts towards a volume ban (nginx map key: "$status:$sec_fetch_site:$ua") -----

CHROME = ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/126.0.0.0 Mobile Safari/537.36")
OLD_SAFARI = ("Mozilla/5.0 (iPhone; CPU iPhone OS 15_8 like Mac OS X) AppleWebKit/605.1.15 "
              "(KHTML, like Gecko) Version/15.6 Mobile/15E148 Safari/604.1")


@pytest.mark.parametrize("key, counted", [
    ("429::Go-http-client/1.1", True),
    ("429::", True),                                 # no user agent at all
    ("429::python-requests/2.31", True),
    ("429::wrk/4.2.0", True),
    (f"429:cross-site:{CHROME}", False),              # another site's page made it send it
    (f"429:same-site:{CHROME}", False),
    (f"429:same-origin:{CHROME}", False),             # any Fetch Metadata: a browser
    (f"429::{OLD_SAFARI}", False),                    # a browser without Fetch Metadata
    ("429:cross-site:Go-http-client/1.1", False),     # a tool claiming to be a page's request
    ("200::Go-http-client/1.1", False),               # served: not volume
    ("403::sqlmap/1.7", False),                       # a probe: 403, no ban
])
def test_volume_counts_only_refusals_no_page_can_induce(key, counted):
    assert bool(re.search(waf.VOLUME_PATTERN, key)) is counted


def test_volume_map_and_log_installed():
    maps, snippet = waf.maps(), waf.snippet()
    assert 'map "$status:$http_sec_fetch_site:$http_user_agent" $prep_volume' in maps
    assert f'"~{waf.VOLUME_PATTERN}" 1;' in maps
    assert f"access_log {waf.VOLUME_LOG} prep if=$prep_volume;" in snippet


# ---- the firewall keeps an admin's open session through a ban ---------------------------

@pytest.mark.parametrize("ports, expr", [([22], "22"), ([22, 2222], "{ 22, 2222 }")])
def test_admin_session_accepted_before_the_ban_drop(difusor, ports, expr):
    lines = [line.strip() for line in firewall.ruleset(difusor, ports).splitlines()]
    keep = lines.index(f"ct state established,related tcp dport {expr} ip saddr @ssh4 accept")
    keep6 = lines.index(f"ct state established,related tcp dport {expr} ip6 saddr @ssh6 accept")
    drop = lines.index("ip saddr @banned4 counter name banned drop")
    drop6 = lines.index("ip6 saddr @banned6 counter name banned drop")
    assert keep < drop and keep6 < drop6
    # Only established SSH from the allowed sources: the web ports of a banned address stay cut.
    assert lines.index("ct state established,related accept") > drop


# ---- overlapping bans in one set ----------------------------------------------------------

def test_action_keeps_the_longest_ban(difusor):
    action = ids.contents(difusor, "ssh", [22])[ids.ACTION]
    ban = next(line for line in action.splitlines() if line.startswith("actionban"))
    unban = next(line for line in action.splitlines() if line.startswith("actionunban"))
    assert '"$left" -lt <bantime>' in ban and "timeout <bantime>s" in ban
    assert '"$left" -le $((<bantime> + 5))' in unban


# ---- the lock-out guard knows fail2ban ----------------------------------------------------

class SSHConnector:
    pass


def fake_host(monkeypatch, cfg_, client: str):
    session = {"user": cfg_.admins.accounts[0].name, "client": client, "server_port": 22}
    fake = types.SimpleNamespace(name="h-ids", connector_cls=SSHConnector,
                                 get_fact=lambda *a, **k: session)
    monkeypatch.setattr(common, "host", fake)
    monkeypatch.setattr(common, "config", lambda: cfg_)
    common._checked.discard("h-ids")


def test_refuse_lockout_when_fail2ban_could_ban_the_deployer(difusor, monkeypatch):
    admin = next(n for n in difusor.admins.networks if ":" not in n)
    address = admin.split("/")[0]
    fake_host(monkeypatch, difusor, address)
    common.refuse_lockout()  # the shipped ignoreip covers the admin networks
    common._checked.discard("h-ids")
    monkeypatch.setattr(ids, "ignored", lambda c: list(ids.LOOPBACK))
    with pytest.raises(DeployError, match="fail2ban would be free to ban"):
        common.refuse_lockout()


# ---- the deploy waits for fail2ban before reloading it ------------------------------------

def test_reload_waits_for_fail2ban_to_answer():
    source = inspect.getsource(ids.fail2ban)
    assert source.index('name="fail2ban running"') < source.index('name="fail2ban answers"') \
        < source.index('name="reload fail2ban"')
    assert "not start.did_change()" in source  # just started: it read the new files


def test_wait_command_waits_then_gives_up(tmp_path):
    client = tmp_path / "fail2ban-client"
    counter = tmp_path / "n"
    client.write_text(f'#!/bin/sh\nn=$(cat {counter} 2>/dev/null || echo 0)\n'
                      f'echo $((n + 1)) > {counter}\n[ "$n" -ge 2 ]\n')
    client.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    ok = subprocess.run(["sh", "-c", ids.wait_answer_command(10)], env=env,
                        capture_output=True, text=True, timeout=30, check=False)
    assert ok.returncode == 0 and counter.read_text().strip() == "3"
    client.write_text("#!/bin/sh\nexit 1\n")
    env["PATH"] = f"{tmp_path}:/usr/bin:/bin"  # no systemctl status noise needed
    bad = subprocess.run(["sh", "-c", ids.wait_answer_command(2)], env=env,
                         capture_output=True, text=True, timeout=30, check=False)
    assert bad.returncode == 1 and "did not answer within 2 s" in bad.stderr
