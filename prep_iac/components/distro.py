"""Distribution specifics, in one place: package and service names and paths that differ
between Debian 12 (bookworm), Debian 13 (trixie) and Ubuntu. Plain data; `for_host()` picks
the entry for the host being deployed. Other components may add keys here."""

COMMON = {
    "ssh_service": "ssh",
    "sshd_dropin_dir": "/etc/ssh/sshd_config.d",
    # nftables.service loads our ruleset (a unit drop-in); the package's file stays as shipped.
    "nftables_conf": "/etc/nftables.conf",
    "nftables_service": "nftables",
    "nftables_unit_dropin": "/etc/systemd/system/nftables.service.d/prep.conf",
    # Conffiles we replace where the package offers no drop-in: diverted, the package's own
    # kept at the second path (docs/security.md "Debian's own files"). nginx: `events` may
    # appear once, in nginx.conf. logrotate skips *.disabled, so Debian's nginx file (whose
    # /var/log/nginx/*.log would claim the PREP logs twice) stops counting. NUT, issue and
    # login.defs have no include at all.
    "conffile_diverts": {
        "/etc/nginx/nginx.conf": "/etc/nginx/nginx.conf.distrib",
        "/etc/logrotate.d/nginx": "/etc/logrotate.d/nginx.disabled",
        "/etc/nut/nut.conf": "/etc/nut/nut.conf.distrib",
        "/etc/nut/ups.conf": "/etc/nut/ups.conf.distrib",
        "/etc/nut/upsd.conf": "/etc/nut/upsd.conf.distrib",
        "/etc/nut/upsd.users": "/etc/nut/upsd.users.distrib",
        "/etc/nut/upsmon.conf": "/etc/nut/upsmon.conf.distrib",
        "/etc/issue": "/etc/issue.distrib",
        "/etc/issue.net": "/etc/issue.net.distrib",
        "/etc/login.defs": "/etc/login.defs.distrib",
    },
    # Conffiles earlier versions changed and we no longer touch: the package's own restored.
    "conffile_restores": ["/etc/nftables.conf", "/etc/ssh/moduli"],
    "fail2ban_packages": ["fail2ban", "python3-systemd"],
    "nut_packages": ["nut-server", "nut-client"],
    # NUT >= 2.8: one driver unit per UPS, generated from ups.conf by the enumerator.
    "nut_driver_unit": "nut-driver@{ups}.service",
    "nut_enumerator": "nut-driver-enumerator.service",
    "nut_server_service": "nut-server",
    "nut_monitor_service": "nut-monitor",
    "nut_dir": "/etc/nut",
    "upgrades_packages": ["unattended-upgrades"],
    "timesync_package": "systemd-timesyncd",
    "timesync_service": "systemd-timesyncd",
    "audit_packages": ["auditd"],
    # mkfs.ext4, debugfs, e2fsck, resize2fs: the jail's own filesystem (not in every base).
    "jail_fs_packages": ["e2fsprogs"],
    "sysctl_dir": "/etc/sysctl.d",
    # procps's link to /etc/sysctl.conf (a conffile): read last, never moved by a deploy.
    "sysctl_package_files": ["/etc/sysctl.d/99-sysctl.conf"],
    "journald_dropin_dir": "/etc/systemd/journald.conf.d",
    # Servers that must not run on a difusor or a publisher (dev-sec package-01…06 and more).
    "unwanted_packages": ["telnetd", "inetutils-telnetd", "telnetd-ssl", "rsh-server",
                          "rsh-redone-server", "nis", "tftpd", "tftpd-hpa", "atftpd",
                          "xinetd", "openbsd-inetd", "inetutils-inetd", "avahi-daemon",
                          "cups-daemon", "rpcbind", "talkd", "prelink"],
    # Web tier (nginx, tls, logs, ha components).
    "nginx_packages": ["nginx"],
    "nginx_http2_directive": False,  # nginx < 1.25.1 (Debian 12): only `listen … http2`
    "acme_packages": ["certbot", "ssl-cert"],
    "logrotate_packages": ["logrotate"],
    "keepalived_packages": ["keepalived"],
    "unattended_origins": ['"origin=Debian,codename=${distro_codename},label=Debian-Security"',
                           '"origin=Debian,codename=${distro_codename}-security,label=Debian-Security"'],
}

BY_RELEASE = {
    ("debian", 12): {},
    ("debian", 13): {"nginx_http2_directive": True},
    # Ubuntu: sshd is socket-activated (ssh.socket owns the port); security updates come
    # from the -security pocket.
    ("ubuntu", None): {
        "unattended_origins": ['"${distro_id}:${distro_codename}-security"'],
        "unwanted_packages": COMMON["unwanted_packages"] + ["snapd"],
    },
}

SUPPORTED = "Debian 12, Debian 13, Ubuntu 22.04 or later"


def lookup(distro_id: str, major: int | None) -> dict:
    """The settings for a distribution id (lower case) and major version."""
    distro_id = (distro_id or "").lower()
    for key in ((distro_id, major), (distro_id, None)):
        if key in BY_RELEASE:
            return {**COMMON, **BY_RELEASE[key]}
    raise ValueError(f"unsupported distribution {distro_id} {major}: prep-iac supports {SUPPORTED}")


def for_host() -> dict:
    from pyinfra import host
    from pyinfra.facts.server import LinuxDistribution

    info = host.get_fact(LinuxDistribution) or {}
    release = info.get("release_meta", {}) or {}
    distro_id = release.get("ID") or (info.get("name") or "").split()[0]
    return lookup(distro_id, info.get("major"))
