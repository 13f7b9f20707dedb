"""The rules that decide which foreign files override a hardened value (converge), the
facts' parsers behind them, and the conffile plan (distro, conffiles)."""

import subprocess

import pytest

from prep_iac.components import conffiles, converge, distro, ssh
from prep_iac.facts.config_files import SysctlValues, split_marked, split_nginx_t
from prep_iac.facts.dpkg import parse_conffile

OURS_SSHD = ssh.dropin((9, 2), ["/etc/ssh/ssh_host_ed25519_key"])


# ---- sshd ----------------------------------------------------------------------------------

def test_a_drop_in_before_ours_setting_password_login_is_found():
    files = {"/etc/ssh/sshd_config.d/00-local.conf": "# cloud image\nPasswordAuthentication yes\n",
             "/etc/ssh/sshd_config.d/10-prep-hardening.conf": OURS_SSHD,
             "/etc/ssh/sshd_config.d/60-ok.conf": "Subsystem foo /bin/true\n",
             "/etc/ssh/sshd_config.d/README": "PasswordAuthentication yes\n"}
    found = converge.sshd_overriders(files, {ssh.DROPIN}, converge.sshd_keywords(OURS_SSHD))
    assert found == {"/etc/ssh/sshd_config.d/00-local.conf": ["passwordauthentication"]}


def test_keywords_are_case_insensitive_and_comments_ignored():
    assert converge.sshd_keywords("  passwordAUTHENTICATION yes\n# PermitRootLogin yes\n"
                                  "Match User x\n  X11Forwarding yes\n") == {
        "passwordauthentication", "x11forwarding"}


def test_expected_values_are_ours_outside_match_and_as_sshd_t_prints_them():
    expected = converge.sshd_expected(OURS_SSHD)
    assert expected["passwordauthentication"] == "no"
    assert expected["permitrootlogin"] == "no"
    assert expected["modulifile"] == ssh.MODULI
    assert "debianbanner" not in expected  # sshd -T does not print it
    assert "allowgroups" not in expected  # two words: sshd -T prints one line each


def test_sshd_differs_names_what_is_not_in_force():
    effective = {"passwordauthentication": ["yes"], "permitrootlogin": ["no"]}
    assert converge.sshd_differs(effective, {"passwordauthentication": "no",
                                             "permitrootlogin": "no",
                                             "x11forwarding": "no"}) == [
        "passwordauthentication", "x11forwarding"]


def test_in_force_command_passes_and_fails_like_the_daemon_view():
    ok = converge.in_force_command("printf 'passwordauthentication no\\nport 22\\n'",
                                   ["PasswordAuthentication no"])
    assert subprocess.run(["sh", "-c", ok], check=False).returncode == 0
    bad = converge.in_force_command("printf 'passwordauthentication yes\\n'",
                                    ["passwordauthentication no"])
    proc = subprocess.run(["sh", "-c", bad], capture_output=True, text=True, check=False)
    assert proc.returncode == 1 and "[passwordauthentication no]" in proc.stderr


# ---- sysctl --------------------------------------------------------------------------------

OURS_SYSCTL = {"/etc/sysctl.d/60-prep-net.conf": "net.ipv4.tcp_syncookies = 1\n"
                                                 "net.ipv4.conf.all.accept_redirects = 0\n"}


def test_a_later_sysctl_file_undoing_ours_is_found_an_earlier_or_agreeing_one_is_not():
    files = {**OURS_SYSCTL,
             "/etc/sysctl.d/99-x.conf": "net.ipv4.tcp_syncookies=0\nvm.swappiness = 10\n",
             "/etc/sysctl.d/70-same.conf": "net.ipv4.tcp_syncookies = 1\n",
             "/etc/sysctl.d/10-early.conf": "net.ipv4.conf.all.accept_redirects = 1\n",
             "/etc/sysctl.d/80-dash.conf": "-net.ipv4.conf.all.accept_redirects = 1\n"}
    assert converge.sysctl_overriders(files, OURS_SYSCTL) == {
        "/etc/sysctl.d/80-dash.conf": ["net.ipv4.conf.all.accept_redirects"],
        "/etc/sysctl.d/99-x.conf": ["net.ipv4.tcp_syncookies"]}


def test_sysctl_values_fact_parses_and_squeezes():
    fact = SysctlValues()
    assert fact.process(["net.ipv4.tcp_syncookies = 1", "net.ipv4.ip_local_port_range = 1\t2",
                         "sysctl: cannot stat /proc/sys/x"]) == {
        "net.ipv4.tcp_syncookies": "1", "net.ipv4.ip_local_port_range": "1 2"}


# ---- sudoers -------------------------------------------------------------------------------

def test_sudoers_grants_to_others_defaults_and_includes_are_found_admins_kept():
    files = {"/etc/sudoers.d/prep-admins": "%prep-admins ALL=(ALL:ALL) NOPASSWD: ALL\n",
             "/etc/sudoers.d/prepadmin": "prepadmin ALL=(ALL:ALL) NOPASSWD: ALL\n",
             "/etc/sudoers.d/90-cloud": "# x\nubuntu ALL=(ALL) NOPASSWD:ALL\n",
             "/etc/sudoers.d/50-lax": "Defaults !authenticate\n",
             "/etc/sudoers.d/60-more": "@includedir /opt/sudo\n",
             "/etc/sudoers.d/70-alias": "User_Alias OPS = prepadmin\n",
             "/etc/sudoers.d/old.bak": "evil ALL=(ALL) ALL\n",  # sudo skips names with a dot
             "/etc/sudoers.d/README": "evil ALL=(ALL) ALL\n"}
    found = converge.sudoers_overriders(files, {"/etc/sudoers.d/prep-admins"}, {"prepadmin"},
                                        "prep-admins")
    assert found == {"/etc/sudoers.d/50-lax": ["Defaults !authenticate"],
                     "/etc/sudoers.d/60-more": ["includes /opt/sudo"],
                     "/etc/sudoers.d/90-cloud": ["grants to ubuntu"]}


# ---- nginx ---------------------------------------------------------------------------------

def test_nginx_foreign_servers_and_header_settings_are_found_ours_and_plain_files_not():
    loaded = {"/etc/nginx/nginx.conf": "http { include /etc/nginx/conf.d/*.conf; }",
              "/etc/nginx/sites-enabled/prep.conf": "server { listen 443 ssl; }",
              "/etc/nginx/conf.d/prep-waf.conf": "map $a $b { }",
              "/etc/nginx/prep/sitio.conf": "add_header X 1;",
              "/etc/nginx/mime.types": "types { text/html html; }",
              "/etc/nginx/conf.d/otro.conf": "server {\n listen 80; # x\n}",
              "/etc/nginx/conf.d/headers.conf": "proxy_hide_header Content-Security-Policy;",
              "/etc/nginx/conf.d/comment.conf": "# server { listen 80; }\ngzip on;"}
    assert converge.nginx_overriders(loaded) == {
        "/etc/nginx/conf.d/headers.conf": ["proxy_hide_header"],
        "/etc/nginx/conf.d/otro.conf": ["listen", "server"]}


def test_split_nginx_t_by_file():
    out = ["nginx: the configuration file /etc/nginx/nginx.conf syntax is ok",
           "# configuration file /etc/nginx/nginx.conf:", "events {}",
           "# configuration file /etc/nginx/conf.d/a.conf:", "server {", "}"]
    assert split_nginx_t(out) == {"/etc/nginx/nginx.conf": "events {}",
                                  "/etc/nginx/conf.d/a.conf": "server {\n}"}


def test_split_marked_files():
    out = ["==> prep-iac file: /a", "x", "", "==> prep-iac file: /b", "y"]
    assert split_marked(out) == {"/a": "x\n", "/b": "y"}


# ---- nftables ------------------------------------------------------------------------------

RULESET = """table inet prep {
\tchain input {
\t\ttype filter hook input priority filter; policy drop;
\t}
}
table inet zz {
\tchain input {
\t\ttype filter hook input priority -300; policy accept;
\t\taccept
\t}
}
table ip nat {
\tchain post {
\t\ttype nat hook postrouting priority srcnat; policy accept;
\t}
\tchain pre {
\t\ttype nat hook prerouting priority dstnat; policy accept;
\t}
}
table inet sets_only {
\tset s { type ipv4_addr; }
}
"""


def test_foreign_tables_with_base_chains_are_found_ours_and_set_only_tables_not():
    assert converge.nft_foreign_tables(RULESET) == {("inet", "zz"): ["input"],
                                                    ("ip", "nat"): ["postrouting", "prerouting"]}


def test_fragments_that_flush_remove_our_table_or_hook_are_found():
    files = {"/etc/nftables.d/a.nft": "flush ruleset\n",
             "/etc/nftables.d/b.nft": "delete table inet prep\n",
             "/etc/nftables.d/c.nft": "table inet x { chain c { type filter hook input "
                                      "priority 0; } }\n",
             "/etc/nftables.d/d.nft": "# flush ruleset\nadd element inet prep banned4 { 192.0.2.1 }\n"}
    assert converge.nft_fragment_overriders(files) == {
        "/etc/nftables.d/a.nft": ["flush ruleset"],
        "/etc/nftables.d/b.nft": ["removes table inet prep"],
        "/etc/nftables.d/c.nft": ["a base chain of its own"]}


# ---- Debian's own files --------------------------------------------------------------------

def test_parse_conffile():
    assert parse_conffile(["/etc/nginx/nginx.conf nginx-common abc /etc/nginx/nginx.conf.distrib def"]) == {
        "package": "nginx-common", "shipped": "abc",
        "diverted_to": "/etc/nginx/nginx.conf.distrib", "md5": "def"}
    assert parse_conffile(["/etc/ssh/moduli openssh-server abc /etc/ssh/moduli -"])[
        "diverted_to"] is None
    assert parse_conffile([]) is None  # no package ships it


@pytest.mark.parametrize("major", [12, 13])
def test_diverted_copies_are_names_their_readers_skip(major):
    d = distro.lookup("debian", major)
    for path, to in d["conffile_diverts"].items():
        assert to.startswith(path + ".")
        if path.startswith("/etc/logrotate.d/"):
            assert to.endswith(".disabled")  # logrotate skips it; .distrib it would read
    assert not set(d["conffile_diverts"]) & set(d["conffile_restores"])


def test_conffile_script_is_valid_shell_and_defines_every_verb():
    text = conffiles.script("true")
    assert subprocess.run(["sh", "-n", "-c", text], check=False).returncode == 0
    for verb in ("restore()", "divert()", "neutralise()", "neutralise_table()"):
        assert verb in text
    assert conffiles.NEUTRALISED in text


def test_older_openssh_gets_no_group_exchange_and_no_moduli_file():
    assert "diffie-hellman-group-exchange-sha256" not in ssh.crypto((8, 9))["kex"]
    assert "ModuliFile" not in ssh.dropin((8, 9), ["/etc/ssh/ssh_host_ed25519_key"])
    assert f"ModuliFile {ssh.MODULI}" in OURS_SSHD
