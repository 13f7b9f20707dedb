"""The IEC's SFTP jail on a difusor (CONV-II.a.1).

A system account in group `prep-sftp` (prep_iac/contract.py), SFTP only (internal-sftp, no
symlink/hard-link requests), chrooted in the root-owned /srv/sftp/iec, keys only (the IEC's
keys from the inventory, in a root-owned file it cannot change), no forwarding or tty, and
only from the IEC's source addresses. It writes incoming/ alone and reads estado/.
Where the host offers loop devices, incoming/ is a filesystem of its own (an ext4 image the
size of the activator's byte budget), so the uploader cannot fill the host's disk even
between two of the activator's measurements; elsewhere (a container) the budget alone bounds
it, and the container fact says why.
The global `Subsystem sftp` is untouched: admins and pyinfra keep their own sftp-server.
"""

from io import StringIO
from pathlib import PurePosixPath

from pyinfra import host, logger
from pyinfra.api import deploy
from pyinfra.facts.files import File
from pyinfra.operations import apt, files, server, systemd
from pyinfra.operations.util import any_changed

from prep_iac import paths
from prep_iac.components import distro
from prep_iac.components.common import config
from prep_iac.contract import INCOMING, JAIL_ESTADO, JAIL_ROOT, SFTP_GROUP, jail_budget_bytes
from prep_iac.facts.container import Container

KEYS_DIR = f"/etc/ssh/{SFTP_GROUP}-keys"
DROP_IN_NAME = f"50-{SFTP_GROUP}-jail.conf"  # docs/contracts.md; after security's 10-…
DROP_IN = f"/etc/ssh/sshd_config.d/{DROP_IN_NAME}"
STAGED = f"/etc/prep-iac/staged/{DROP_IN_NAME}"
APPLY = "/usr/local/sbin/prep-sshd-apply"
# Each key may only open the SFTP subsystem that ForceCommand gives it.
KEY_OPTIONS = "restrict"
# incoming/'s own filesystem (where the host offers loop devices).
FS_IMAGE = "/var/lib/prep-iac/jail-incoming.img"
FS_TOOL = "/usr/local/sbin/prep-jail-fs"
MIB = 1024 * 1024
# A path unit watches the directory it saw when it started, not what is mounted on it later.
RESTART_PATH_UNIT = ("if systemctl cat prep-activator.path >/dev/null 2>&1; "
                     "then systemctl try-restart prep-activator.path; fi")


def mount_unit_name(path: str) -> str:
    """systemd's name for the mount unit of `path` (systemd-escape --path, for the plain
    characters our paths use)."""
    return path.strip("/").replace("-", "\\x2d").replace("/", "-") + ".mount"


def filesystem_bytes(max_cut_mb: int) -> int:
    """The image's size: the activator's byte budget, in whole MiB."""
    budget = jail_budget_bytes(max_cut_mb * MIB)
    return -(-budget // MIB) * MIB


def authorized_keys(keys: list[str]) -> str:
    return "".join(f"{KEY_OPTIONS} {k.strip()}\n" for k in keys)


@deploy("sftp_jail: the IEC's chrooted SFTP account")
def jail():
    cfg = config()
    iec = cfg.iec
    user = iec.jail_user

    server.group(name=f"group {SFTP_GROUP}", group=SFTP_GROUP, system=True)
    server.user(name=f"jail account {user}", user=user, group=SFTP_GROUP, system=True,
                home=JAIL_ROOT, create_home=False, ensure_home=False, shell="/usr/sbin/nologin",
                present=True)  # system accounts are created without a password: keys only

    # sshd demands every component of ChrootDirectory be root-owned and not writable by others.
    for path in [*map(str, reversed(PurePosixPath(JAIL_ROOT).parents[:-1])), JAIL_ROOT]:
        files.directory(name=f"root-owned {path}", path=path, user="root", group="root",
                        mode="755")
    incoming_storage(f"{JAIL_ROOT}/{INCOMING}", filesystem_bytes(iec.max_cut_mb))
    files.directory(name=f"{INCOMING}/: the only place the IEC writes",
                    path=f"{JAIL_ROOT}/{INCOMING}", user=user, group=SFTP_GROUP, mode="700")
    files.directory(name=f"{JAIL_ESTADO}/: what the IEC reads back",
                    path=f"{JAIL_ROOT}/{JAIL_ESTADO}", user="root", group="root", mode="755")

    files.directory(name="jail keys folder", path=KEYS_DIR, user="root", group="root",
                    mode="755")
    files.put(name=f"the IEC's SFTP keys for {user}", src=StringIO(authorized_keys(iec.sftp_keys)),
              dest=f"{KEYS_DIR}/{user}", user="root", group="root", mode="644")

    apply = files.put(name="prep-sshd-apply", src=paths.template("sftp", "prep-sshd-apply.sh"),
                      dest=APPLY, user="root", group="root", mode="755")
    staged = files.template(name="stage the jail's sshd drop-in",
                            src=paths.template("sftp", f"{DROP_IN_NAME}.j2"),
                            dest=STAGED, create_remote_dir=True, user="root", group="root",
                            mode="600", sftp_group=SFTP_GROUP, jail=JAIL_ROOT, keys_dir=KEYS_DIR,
                            sources=list(iec.sources))
    server.shell(name="sshd -t, then put the jail's drop-in live and reload",
                 commands=[f"{APPLY} {STAGED} {DROP_IN}"],
                 _if=any_changed(staged, apply))


def incoming_storage(incoming: str, size: int) -> None:
    """incoming/ on an ext4 image of its own, mounted nodev,nosuid,noexec, where the host
    offers loop devices; else the activator's byte budget alone, and the reason logged."""
    unit = mount_unit_name(incoming)
    unit_path = f"/etc/systemd/system/{unit}"
    why_not = host.get_fact(Container)["forbids"].get("loop_filesystem")
    if why_not:
        logger.warning(f"{host.name}: {incoming} has no filesystem of its own, the "
                       f"activator's byte budget bounds it: {why_not}")
        if host.get_fact(File, path=unit_path):  # set up when the host still had them
            server.shell(name=f"remove {unit} and its image", commands=[
                f"systemctl disable --now {unit} || true",
                f"systemctl reset-failed {unit} 2>/dev/null || true",  # it failed at boot
                f"rm -f {unit_path} {FS_IMAGE}", "systemctl daemon-reload"])
        return

    apt.packages(name="ext4 tools for incoming/'s filesystem",
                 packages=distro.for_host()["jail_fs_packages"], update=True, cache_time=3600)
    tool = files.put(name="prep-jail-fs", src=paths.template("sftp", "prep-jail-fs.sh"),
                     dest=FS_TOOL, user="root", group="root", mode="755")
    image = host.get_fact(File, path=FS_IMAGE)
    if not image:
        server.shell(name=f"create incoming/'s filesystem ({size // MIB} MiB)",
                     commands=[f"{FS_TOOL} {FS_IMAGE} {size}"])
    elif image["size"] < size:  # a larger max_cut_mb: grown offline, between two uploads
        server.shell(name=f"grow incoming/'s filesystem to {size // MIB} MiB",
                     commands=[f"systemctl stop {unit}", f"{FS_TOOL} {FS_IMAGE} {size}",
                               f"systemctl start {unit}", RESTART_PATH_UNIT])
    mount = files.template(name=unit, src=paths.template("sftp", "jail-incoming.mount.j2"),
                           dest=unit_path, user="root", group="root", mode="644",
                           image=FS_IMAGE, where=incoming)
    systemd.daemon_reload(name="systemd reads the jail's mount", _if=any_changed(mount, tool))
    mounted = systemd.service(name=f"{unit} mounted at boot and now", service=unit,
                              running=True, enabled=True)
    server.shell(name="the activator's path unit watches the mounted incoming/",
                 commands=[RESTART_PATH_UNIT], _if=mounted.did_change)
