"""Security checks on a difusor or publisher (testinfra, run with sudo): SSH and admin access
(CONV-IV.1), OS hardening (CONV-II.c.3), firewall (CONV-II.d.1), intrusion detection and the
web-attack filter (CONV-II.d.2), UPS (CONV-II.e). The dev-sec baseline control each check
matches is in its marker (docs/security.md maps them all)."""

import pytest

from prep_iac.components import firewall
from prep_iac.components import ssh as ssh_component
from prep_iac.components.admins import SUDOERS
from prep_iac.conformance.suites.checks import not_applicable
from prep_iac.contract import ADMIN_GROUP, SSH_ALLOW_GROUPS
from prep_iac.facts.sshd import parse_openssh_version, parse_sshd_t
from prep_iac.inventory.roles import DIFUSOR


@pytest.fixture(scope="module")
def sshd(host):
    return {k: v for k, v in parse_sshd_t(host.check_output("sshd -T").splitlines()).items()}


@pytest.fixture(scope="module")
def openssh(host):
    return parse_openssh_version(host.run("ssh -V 2>&1").stdout + host.run("ssh -V").stderr)


@pytest.fixture(scope="module")
def container(host):
    found = host.run("systemd-detect-virt --container").stdout.strip()
    return None if found in ("", "none") else found


def one(sshd, key):
    return sshd.get(key, [""])[0]


# ---- SSH (CONV-IV.1) -------------------------------------------------------------------

SSHD_EXPECTED = [
    ("permitrootlogin", "no", "sshd-06"),
    ("passwordauthentication", "no", "sshd-27"),
    ("kbdinteractiveauthentication", "no", "sshd-29"),
    ("permitemptypasswords", "no", "sshd-28"),
    ("pubkeyauthentication", "yes", "sshd-22"),
    ("hostbasedauthentication", "no", "sshd-25"),
    ("ignorerhosts", "yes", "sshd-23"),
    ("ignoreuserknownhosts", "yes", "sshd-24"),
    ("gssapiauthentication", "no", "sshd-33"),
    ("kerberosauthentication", "no", "sshd-30"),
    ("permituserenvironment", "no", "sshd-17"),
    ("strictmodes", "yes", "sshd-11"),
    ("loglevel", "VERBOSE", "sshd-13"),
    ("syslogfacility", "AUTH", "sshd-12"),
    ("logingracetime", "30", "sshd-18"),
    ("maxsessions", "10", "sshd-20"),
    ("maxstartups", "10:30:60", "sshd-21"),
    ("allowtcpforwarding", "no", "sshd-39"),
    ("allowagentforwarding", "no", "sshd-40"),
    ("gatewayports", "no", "sshd-41"),
    ("x11forwarding", "no", "sshd-42"),
    ("permittunnel", "no", "sshd-38"),
    ("clientaliveinterval", "300", "sshd-36"),
    ("clientalivecountmax", "3", "sshd-37"),
    ("tcpkeepalive", "no", "sshd-35"),
    ("compression", "no", None),
    ("usedns", "no", None),
    ("authenticationmethods", "publickey", None),
]


@pytest.mark.conv("CONV-IV.1", id="security::sshd_setting",
                   devsec="sshd-06,11-13,17-18,20-25,27-30,33,35-42")
@pytest.mark.parametrize("key,value,control", SSHD_EXPECTED,
                         ids=[f"{k}-{c or 'prep'}" for k, _, c in SSHD_EXPECTED])
def test_sshd_setting(sshd, key, value, control):
    assert one(sshd, key).lower() == value.lower(), f"{key}: {sshd.get(key)} ({control})"


@pytest.mark.conv("CONV-IV.1", id="security::sshd_max_auth_tries", devsec="sshd-19")
def test_sshd_max_auth_tries(sshd):
    assert 1 <= int(one(sshd, "maxauthtries")) <= 3


@pytest.mark.conv("CONV-IV.1", id="security::sshd_allow_groups")
def test_sshd_allow_groups(sshd):
    assert sorted(sshd.get("allowgroups", [])) == sorted(SSH_ALLOW_GROUPS)


@pytest.mark.conv("CONV-IV.1", id="security::sshd_crypto", devsec="sshd-01,sshd-02,sshd-03")
@pytest.mark.parametrize("key,kind", [("ciphers", "ciphers"), ("kexalgorithms", "kex"),
                                      ("macs", "macs"), ("hostkeyalgorithms", "host_keys")])
def test_sshd_crypto(sshd, openssh, key, kind):
    allowed = set(ssh_component.crypto(openssh)[kind])
    offered = set(one(sshd, key).split(","))
    assert offered and offered <= allowed, f"not ours: {sorted(offered - allowed)}"


@pytest.mark.conv("CONV-IV.1", id="security::moduli_strong", devsec="sshd-48")
def test_moduli_strong(host, sshd):
    """The groups sshd offers for group exchange: from the moduli file it really reads
    (ModuliFile; Debian's own /etc/ssh/moduli when unset); none if it offers no exchange."""
    if not any("group-exchange" in k for k in one(sshd, "kexalgorithms").split(",")):
        not_applicable("sshd offers no Diffie-Hellman group exchange: moduli are unused")
    moduli = one(sshd, "modulifile") or "/etc/ssh/moduli"
    weak = host.check_output(f"awk '$1 !~ /^#/ && NF >= 7 && $5 + 1 < 3072' {moduli} | wc -l")
    assert int(weak) == 0


@pytest.mark.conv("CONV-IV.1", id="security::host_keys", devsec="sshd-14,sshd-50")
def test_host_keys(host, prep, sshd):
    pinned = ssh_component.pinned_key_type(prep.host.host_key)
    for path in sshd.get("hostkey", []):
        bits, *_, kind = host.check_output(f"ssh-keygen -l -f {path}.pub").split()
        kind = kind.strip("()")
        assert kind != "DSA"
        assert kind != "ECDSA" or pinned == "ECDSA", f"{path}: ECDSA host key"
        assert kind != "RSA" or int(bits) >= ssh_component.MIN_RSA_BITS, f"{path}: {bits} bits"


@pytest.mark.conv("CONV-IV.1", id="security::sshd_config_files", devsec="sshd-05")
def test_sshd_config_files(host):
    for path in ("/etc/ssh/sshd_config", f"/etc/ssh/sshd_config.d/{ssh_component.DROPIN}"):
        f = host.file(path)
        assert f.exists and f.user == "root" and not f.mode & 0o022, path


@pytest.mark.conv("CONV-IV.1", id="security::admin_accounts")
def test_admin_accounts(host, prep):
    for account in prep.admins.accounts:
        user = host.user(account.name)
        assert user.exists and ADMIN_GROUP in user.groups, account.name
        keys = host.file(f"{user.home}/.ssh/authorized_keys").content_string
        for key in account.keys:
            assert " ".join(key.split()[:2]) in keys, f"{account.name}: key missing"
        # No usable password: login is by key only (sudo needs none).
        status = host.check_output(f"passwd -S {account.name}").split()[1]
        assert status in ("L", "NP", "LK"), f"{account.name} has a password ({status})"


@pytest.mark.conv("CONV-IV.1", id="security::root_has_no_keys")
def test_root_has_no_keys(host):
    keys = host.file("/root/.ssh/authorized_keys")
    assert not keys.exists or not keys.content_string.strip()


@pytest.mark.conv("CONV-IV.1", id="security::sudo_logged")
def test_sudo_logged(host):
    assert host.run("visudo -c -q").rc == 0
    text = host.file(SUDOERS).content_string
    assert f"%{ADMIN_GROUP} ALL=(ALL:ALL) NOPASSWD: ALL" in text
    assert "log_allowed" in text and "syslog=authpriv" in text
    assert host.file(SUDOERS).mode == 0o440


# ---- OS hardening: what the call does not ask (INF-endurecimiento), except the network
# defences (CONV-II.d.1) and the logs that record access (CONV-IV.1) -----------------------

NET_SYSCTLS = [
    ("net.ipv4.ip_forward", "0", "sysctl-01"),
    ("net.ipv4.conf.all.rp_filter", "1", "sysctl-02"),
    ("net.ipv4.icmp_ignore_bogus_error_responses", "1", "sysctl-03"),
    ("net.ipv4.icmp_echo_ignore_broadcasts", "1", "sysctl-04"),
    ("net.ipv4.icmp_ratelimit", "100", "sysctl-05"),
    ("net.ipv4.icmp_ratemask", "88089", "sysctl-06"),
    ("net.ipv4.conf.all.arp_ignore", "1", "sysctl-08"),
    ("net.ipv4.conf.all.arp_announce", "2", "sysctl-09"),
    ("net.ipv4.tcp_rfc1337", "1", "sysctl-10"),
    ("net.ipv4.tcp_syncookies", "1", "sysctl-11"),
    ("net.ipv4.conf.all.accept_source_route", "0", "sysctl-13"),
    ("net.ipv4.conf.all.accept_redirects", "0", "sysctl-14"),
    ("net.ipv4.conf.all.secure_redirects", "0", "sysctl-15"),
    ("net.ipv4.conf.all.send_redirects", "0", "sysctl-16"),
    ("net.ipv4.conf.all.log_martians", "1", "sysctl-17"),
    ("net.ipv6.conf.all.forwarding", "0", "sysctl-19"),
    ("net.ipv6.conf.all.accept_redirects", "0", "sysctl-20"),
]

KERNEL_SYSCTLS = [
    ("kernel.sysrq", "0", "sysctl-30"),
    ("fs.suid_dumpable", "0", "sysctl-31a"),
    ("kernel.randomize_va_space", "2", "sysctl-32"),
    ("fs.protected_hardlinks", "1", "sysctl-34"),
    ("fs.protected_symlinks", "1", "sysctl-34"),
    ("kernel.yama.ptrace_scope", "2", "sysctl-35"),
    ("kernel.kptr_restrict", "2", None),
    ("kernel.dmesg_restrict", "1", None),
]


@pytest.mark.conv("CONV-II.d.1", id="security::network_sysctl", devsec="sysctl-01..20")
@pytest.mark.parametrize("key,value,control", NET_SYSCTLS, ids=[c for _, _, c in NET_SYSCTLS])
def test_network_sysctl(host, key, value, control):
    assert host.check_output(f"sysctl -n {key}").strip() == value


@pytest.mark.conv("INF-endurecimiento", id="security::kernel_sysctl", devsec="sysctl-30..35")
@pytest.mark.parametrize("key,value,control", KERNEL_SYSCTLS,
                         ids=[f"{k}-{c or 'prep'}" for k, _, c in KERNEL_SYSCTLS])
def test_kernel_sysctl(host, container, key, value, control):
    if container:
        not_applicable(f"in a container ({container}): kernel sysctls belong to the host machine")
    assert host.check_output(f"sysctl -n {key}").strip() == value


@pytest.mark.conv("INF-endurecimiento", id="security::security_updates")
def test_security_updates(host):
    assert host.package("unattended-upgrades").is_installed
    periodic = host.file("/etc/apt/apt.conf.d/20auto-upgrades").content_string
    assert 'Unattended-Upgrade "1"' in periodic
    assert 'Automatic-Reboot "false"' in host.file(
        "/etc/apt/apt.conf.d/52prep-unattended-upgrades").content_string


@pytest.mark.conv("CONV-IV.1", id="security::journal_persistent")
def test_journal_persistent(host):
    assert host.file("/var/log/journal").is_directory
    assert host.run("journalctl --header -q | grep -q '/var/log/journal'").rc == 0


@pytest.mark.conv("CONV-I.10", id="security::time_sync")
def test_time_sync(host, container):
    if container:
        not_applicable(f"in a container ({container}): the clock belongs to the host machine")
    assert host.service("systemd-timesyncd").is_running


@pytest.mark.conv("CONV-IV.1", id="security::auditd", devsec="package-08")
def test_auditd(host, container):
    if container:
        not_applicable(f"in a container ({container}): the kernel refuses audit there")
    assert host.service("auditd").is_running
    assert host.run("auditctl -l | grep -q prep-sshd").rc == 0


@pytest.mark.conv("INF-endurecimiento", id="security::conffiles_as_shipped")
def test_conffiles_as_shipped(host):
    """No package conffile changed (docs/security.md "Debian's own files"): an upgrade in the
    election window never stops to ask about one."""
    out = host.run("dpkg --verify").stdout
    # "??5?????? c /etc/x": the third flag is the digest: 5 changed, ? could not be read.
    conffiles = [line.split() for line in out.splitlines() if line.split()[1:2] == ["c"]]
    changed = [" ".join(f) for f in conffiles if f[0][2:3] == "5"]
    unread = [f[-1] for f in conffiles if f[0][2:3] == "?"]
    assert not changed, "\n".join(changed)
    assert not unread, f"dpkg --verify no pudo leer: {', '.join(unread)} (¿sin root?)"


@pytest.mark.conv("INF-endurecimiento", id="security::needless_servers_absent",
                   devsec="package-01,02,03,05,06")
@pytest.mark.parametrize("package", ["telnetd", "inetutils-telnetd", "rsh-server", "nis",
                                     "tftpd-hpa", "xinetd", "openbsd-inetd", "avahi-daemon"])
def test_needless_servers_absent(host, package):
    assert not host.package(package).is_installed


# ---- Firewall (CONV-II.d.1) ------------------------------------------------------------

@pytest.fixture(scope="module")
def table(host):
    return host.check_output("nft list table inet prep")


@pytest.mark.conv("CONV-II.d.1", id="security::firewall_loaded_and_persistent")
def test_firewall_loaded_and_persistent(host, table):
    assert host.service("nftables").is_enabled
    assert host.run(f"nft -c -f {firewall.RULESET}").rc == 0
    assert "hook input priority filter; policy drop;" in table
    assert "hook forward priority filter; policy drop;" in table


@pytest.mark.conv("CONV-II.d.1", id="security::firewall_basics")
def test_firewall_basics(table):
    for rule in ('iif "lo" accept', "ct state invalid", "ct state established,related accept",
                 "ip saddr @banned4", "ip6 saddr @banned6", "set banned4", "set banned6",
                 "nd-neighbor-solicit", "icmp type echo-request limit rate"):
        assert rule in table, rule


@pytest.mark.conv("CONV-II.d.1", id="security::firewall_ssh_sources")
def test_firewall_ssh_sources(prep, table):
    import ipaddress

    sources = list(prep.admins.networks) + (list(prep.iec.sources)
                                            if prep.role == DIFUSOR else [])
    for cidr in sources:
        net = ipaddress.ip_network(cidr)
        shown = str(net.network_address) if net.prefixlen == net.max_prefixlen else str(net)
        assert shown in table, f"{cidr} missing from the SSH sets"


@pytest.mark.conv("CONV-II.d.1", id="security::firewall_web_limits")
def test_firewall_web_limits(prep, table):
    if prep.role != DIFUSOR:
        assert "dport { 80, 443 }" not in table  # a publisher serves no web
        return
    limits = prep.host.rate_limits
    assert f"ct count over {limits.connections}" in table
    assert f"limit rate over {limits.new_connections_per_s}/second" in table
    assert "tcp dport { 80, 443 } accept" in table


# ---- Intrusion detection, web-attack filter (CONV-II.d.2) ------------------------------

@pytest.mark.conv("CONV-II.d.2", id="security::fail2ban_jails")
def test_fail2ban_jails(host, difusor):
    """Bans for SSH and for volume from non-browsers (prep-web-volume); none for probe URIs,
    which any page can make a visitor's browser send (docs/security.md)."""
    assert host.service("fail2ban").is_running
    status = host.check_output("fail2ban-client status")
    jails = {j.strip() for j in status.split("Jail list:", 1)[1].split(",")}
    assert {"sshd", "prep-web-volume", "recidive"} <= jails, jails
    assert not jails & {"prep-nginx-blocked", "nginx-limit-req"}, jails
    assert "banaction = prep-nftables" in host.file(
        "/etc/fail2ban/jail.d/prep.local").content_string


@pytest.mark.conv("CONV-II.d.2", "CONV-IV.1", id="security::fail2ban_ignores_admins")
def test_fail2ban_ignores_admins(host, difusor):
    """No jail can ban the admin networks or the IEC's publishers."""
    wanted = list(difusor.admins.networks) + list(difusor.iec.sources)
    for jail in ("sshd", "prep-web-volume", "recidive"):
        ignored = host.check_output(f"fail2ban-client get {jail} ignoreip")
        for network in wanted:
            bare = network.removesuffix("/32").removesuffix("/128")
            assert network in ignored or bare in ignored.split(), (jail, network, ignored)


@pytest.mark.conv("CONV-II.d.2", id="security::fail2ban_recidive_journal")
def test_fail2ban_recidive_reads_the_journal(host, difusor):
    """fail2ban logs to the journal: recidive must read it there, not a log file."""
    matches = host.check_output("fail2ban-client get recidive journalmatch")
    assert "_SYSTEMD_UNIT=fail2ban.service" in matches, matches


@pytest.mark.conv("CONV-II.d.2", id="security::waf_filter_installed", devsec="nginx-06")
def test_waf_filter_installed(host, difusor):
    assert host.file("/etc/nginx/conf.d/prep-waf.conf").contains("map $request_uri $prep_waf_uri")
    assert host.file("/etc/nginx/prep.d/waf.conf").contains("return 403")
    assert host.run("nginx -t").rc == 0


# ---- UPS (CONV-II.e) --------------------------------------------------------------------

@pytest.mark.conv("CONV-II.e", id="security::ups_monitored")
def test_ups_monitored(host, difusor):
    """El UPS declarado está vigilado por NUT y el servidor está en línea, no en batería"""
    ups = difusor.host.ups  # required by the inventory schema: never "no aplica"
    assert host.service("nut-server").is_running and host.service("nut-monitor").is_running, \
        "NUT (nut-server, nut-monitor) no está en ejecución: nadie vigila el UPS"
    status = host.check_output(f"upsc {ups.name}@localhost ups.status").split()
    assert status, f"el UPS {ups.name} no informa su estado (upsc ups.status vacío)"
    assert "OB" not in status and "LB" not in status, (
        f"el UPS {ups.name} está en batería ({' '.join(status)}): la red eléctrica falló y la "
        "planta de emergencia no la sustituye")
    assert "OL" in status, f"el UPS {ups.name} no está en línea: {' '.join(status)}"
    monitor = host.file("/etc/nut/upsmon.conf").content_string
    assert "SHUTDOWNCMD" in monitor and "NOTIFYCMD" in monitor


@pytest.mark.conv("CONV-II.e", id="security::upsd_local_only")
def test_upsd_local_only(host, difusor):
    listening = [s for s in host.check_output("ss -Hltn 'sport = :3493'").splitlines()]
    assert listening
    for line in listening:
        local = line.split()[3]
        assert local.startswith(("127.0.0.1:", "[::1]:")), local
