"""A host's root filesystem: an overlayfs clone of the base, given its identity once.

The customisation runs before the first boot and is recorded with a marker, so a host keeps
its keys and machine-id across `down`/`up`; only /etc/hosts is rewritten on every `up`
(the lab may have grown).
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from prep_iac.lab import keys

APT_PROXY_CONF = "etc/apt/apt.conf.d/01prep-iac-proxy"
NETWORK_FILE = "etc/systemd/network/10-host0.network"
CUSTOMIZED = ".customized"


@dataclass(frozen=True)
class HostPaths:
    dir: Path

    @property
    def root(self) -> Path:
        return self.dir / "root"

    @property
    def upper(self) -> Path:
        return self.dir / "upper"

    @property
    def work(self) -> Path:
        return self.dir / "work"

    @property
    def marker(self) -> Path:
        return self.dir / CUSTOMIZED

    @property
    def host_keys(self) -> Path:
        """Public host keys, kept beside the host for the inventory and known_hosts."""
        return self.dir / "host_keys.pub"


def is_mounted(path: Path) -> bool:
    target = str(path)
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == target for line in f)


def mount(paths: HostPaths, lower: Path) -> None:
    for d in (paths.upper, paths.work, paths.root):
        d.mkdir(parents=True, exist_ok=True)
    if is_mounted(paths.root):
        return
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                    f"lowerdir={lower},upperdir={paths.upper},workdir={paths.work}",
                    str(paths.root)], check=True, capture_output=True, text=True)


def umount(paths: HostPaths) -> None:
    if is_mounted(paths.root):
        subprocess.run(["umount", str(paths.root)], check=True, capture_output=True, text=True)


def hosts_file(host: str, hosts: dict[str, str]) -> str:
    lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
    if host not in hosts:
        lines.append(f"127.0.1.1\t{host}")
    lines += [f"{addr}\t{name}.lab {name}" for name, addr in sorted(hosts.items())]
    return "\n".join(lines) + "\n"


def network_file(address: str, subnet: str, gateway: str) -> str:
    prefix = ipaddress.IPv4Network(subnet).prefixlen
    return ("[Match]\nName=host0\n\n[Network]\n"
            f"Address={address}/{prefix}\nGateway={gateway}\n"
            "LinkLocalAddressing=no\nIPv6AcceptRA=no\n")


def _write(root: Path, rel: str, text: str, mode: int = 0o644) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)  # never write through a symlink of the image
    path.write_text(text)
    os.chmod(path, mode)
    return path


def start_customize(paths: HostPaths, host: str, address: str, subnet: str, gateway: str,
                    proxy: str, admin_pubkey: str) -> list[subprocess.Popen]:
    """Give a fresh clone its identity; returns the host-key jobs still running."""
    r = paths.root
    _write(r, "etc/hostname", host + "\n")
    _write(r, "etc/machine-id", uuid.uuid4().hex + "\n", 0o444)
    _write(r, "etc/resolv.conf", "nameserver 127.0.0.1\n")  # no DNS in the lab
    # Lists come prefetched (aptlists); for the .deb files, time out and retry on a stall.
    _write(r, APT_PROXY_CONF, f'Acquire::http::Proxy "{proxy}";\n'
           'Acquire::http::Timeout "30";\nAcquire::Retries "5";\n')
    _write(r, NETWORK_FILE, network_file(address, subnet, gateway))
    wants = r / "etc/systemd/system/multi-user.target.wants"
    wants.mkdir(parents=True, exist_ok=True)
    link = wants / "systemd-networkd.service"
    if not link.is_symlink():
        link.symlink_to("/lib/systemd/system/systemd-networkd.service")
    add_admin(r, admin_pubkey)
    shutil.rmtree(r / "root/.ssh", ignore_errors=True)  # root gets no key: admin + sudo only
    return keys.start_host_keys(r / "etc/ssh", host)


def finish_customize(paths: HostPaths) -> None:
    paths.host_keys.write_text("\n".join(keys.host_public_keys(paths.root / "etc/ssh")) + "\n")
    paths.marker.touch()


def add_admin(root: Path, pubkey: str) -> None:
    """The admin account a cloud image would have: key login, passwordless sudo."""
    user = keys.ADMIN_USER
    if _passwd_ids(root, user) is None:
        # '*' rather than a locked '!': sshd refuses keys of locked accounts without PAM.
        subprocess.run(["useradd", "--root", str(root), "--create-home", "--shell", "/bin/bash",
                        "--groups", "sudo", "--password", "*", user],
                       check=True, capture_output=True, text=True)
    uid, gid = _passwd_ids(root, user)
    ssh = root / "home" / user / ".ssh"
    ssh.mkdir(mode=0o700, parents=True, exist_ok=True)
    auth = ssh / "authorized_keys"
    auth.write_text(pubkey + "\n")
    for p in (ssh, auth):
        os.chown(p, uid, gid)
    os.chmod(auth, 0o600)
    _write(root, f"etc/sudoers.d/{user}", f"{user} ALL=(ALL:ALL) NOPASSWD: ALL\n", 0o440)


def _passwd_ids(root: Path, user: str) -> tuple[int, int] | None:
    for line in (root / "etc/passwd").read_text().splitlines():
        fields = line.split(":")
        if fields[0] == user:
            return int(fields[2]), int(fields[3])
    return None


def write_hosts(paths: HostPaths, host: str, hosts: dict[str, str]) -> None:
    _write(paths.root, "etc/hosts", hosts_file(host, hosts))


def public_host_keys(paths: HostPaths) -> list[str]:
    return paths.host_keys.read_text().split("\n")[:-1] if paths.host_keys.exists() else []
