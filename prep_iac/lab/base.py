"""The cached base root filesystem every lab host is an overlay clone of.

Built once per release with mmdebstrap (about half a minute), kept as a zstd tarball under
/var/cache/prep-iac and extracted under /var/lib/prep-iac/base/<release>; rebuilt only when
both are missing.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from prep_iac.errors import PrepError
from prep_iac.lab import mirror
from prep_iac.lab.layout import BASE_ROOT, CACHE_DIR, RELEASES
from prep_iac.lab.locks import locked

# What every host has before any deploy: a booting systemd, sshd (with sftp, which pyinfra
# uploads through), sudo for the admin account, python3 for testinfra, nftables, and netbase
# (fail2ban's nft action needs /etc/services).
PACKAGES = (
    "systemd", "systemd-sysv", "dbus", "openssh-server", "openssh-sftp-server", "python3",
    "iproute2", "sudo", "nftables", "ca-certificates", "netbase", "procps",
)
# Leave identity to the per-host customisation: no hostname, resolver, machine-id or host keys.
CUSTOMIZE = (
    'rm -f "$1/etc/hostname" "$1/etc/resolv.conf" "$1"/etc/ssh/ssh_host_*; '
    'echo -n > "$1/etc/machine-id"'
)


def tarball_path(release: str) -> Path:
    return CACHE_DIR / f"base-{release}.tar.zst"


def base_path(release: str) -> Path:
    return BASE_ROOT / release


def check_release(release: str) -> None:
    if release not in RELEASES:
        raise PrepError(f"unknown release {release!r}", f"use one of: {', '.join(RELEASES)}")


def ready_marker(release: str) -> Path:
    # Beside the tree, not in it: it would show up in every host's root otherwise.
    return BASE_ROOT / f"{release}.ready"


def is_ready(release: str) -> bool:
    """Written last: a base without it is a half-finished extraction."""
    return ready_marker(release).exists() and base_path(release).is_dir()


def ensure(release: str, log=print) -> Path:
    """The extracted base for ``release``, building or extracting it when missing."""
    check_release(release)
    target = base_path(release)
    if is_ready(release):
        return target
    with locked(BASE_ROOT / f"{release}.lock"):  # another lab may be building it right now
        if is_ready(release):
            return target
        if not tarball_path(release).exists():
            log(f"building the {release} base with mmdebstrap (once; about 30 s)")
            build_tarball(release)
        log(f"extracting the {release} base")
        extract(release)
    return target


def _run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise PrepError(f"{what} failed (exit {proc.returncode}):\n{tail}",
                        "check the mirror in /etc/apt/sources.list.d and free disk space")


def build_tarball(release: str) -> None:
    if not shutil.which("mmdebstrap"):
        raise PrepError("mmdebstrap is not installed", "run ./dev bootstrap (or apt-get install mmdebstrap)")
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    out = tarball_path(release)
    tmp = out.with_name(out.name + ".part.tar.zst")
    tmp.unlink(missing_ok=True)
    cmd = ["mmdebstrap", "--variant=minbase", "--mode=root", "--format=tar",
           "--include=" + ",".join(PACKAGES), "--customize-hook=" + CUSTOMIZE,
           release, str(tmp), *mirror.detect().sources(release)]
    try:
        _run(cmd, f"mmdebstrap {release}")
        tmp.rename(out)
    finally:
        tmp.unlink(missing_ok=True)


def extract(release: str) -> None:
    target = base_path(release)
    work = target.with_name(target.name + ".new")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        _run(["tar", "--zstd", "--numeric-owner", "-xpf", str(tarball_path(release)),
              "-C", str(work)], f"extracting {tarball_path(release)}")
        ready_marker(release).unlink(missing_ok=True)
        if target.exists():
            shutil.rmtree(target)
        work.rename(target)
        ready_marker(release).write_text(str(tarball_path(release)) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)
