"""The IEC's SFTP jail on a difusor (CONV-II.a.1).

A system account in group `prep-sftp` (prep_iac/contract.py), SFTP only (internal-sftp, no
symlink/hard-link requests), chrooted in the root-owned /srv/sftp/iec, keys only (the IEC's
keys from the inventory, in a root-owned file it cannot change), no forwarding or tty, and
only from the IEC's source addresses. It writes incoming/ alone and reads estado/.
The global `Subsystem sftp` is untouched: admins and pyinfra keep their own sftp-server.
"""

from io import StringIO
from pathlib import PurePosixPath

from pyinfra.api import deploy
from pyinfra.operations import files, server
from pyinfra.operations.util import any_changed

from prep_iac import paths
from prep_iac.components.common import config
from prep_iac.contract import INCOMING, JAIL_ESTADO, JAIL_ROOT, SFTP_GROUP

KEYS_DIR = f"/etc/ssh/{SFTP_GROUP}-keys"
DROP_IN_NAME = f"50-{SFTP_GROUP}-jail.conf"  # docs/contracts.md; after security's 10-…
DROP_IN = f"/etc/ssh/sshd_config.d/{DROP_IN_NAME}"
STAGED = f"/etc/prep-iac/staged/{DROP_IN_NAME}"
APPLY = "/usr/local/sbin/prep-sshd-apply"
# Each key may only open the SFTP subsystem that ForceCommand gives it.
KEY_OPTIONS = "restrict"


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
