"""The IEC's SFTP jail on a difusor (CONV-II.a.1).

A system account in group `prep-sftp` (docs/contracts.md), SFTP only (internal-sftp, no
symlink/hard-link requests), chrooted in the root-owned /srv/sftp/iec, keys only (the IEC's
keys from the inventory, in a root-owned file it cannot change), no forwarding or tty, and
only from the IEC's source addresses. It writes incoming/ alone and reads estado/.
The global `Subsystem sftp` is untouched: admins and pyinfra keep their own sftp-server.
"""

from io import StringIO

from pyinfra.api import deploy
from pyinfra.operations import files, server
from pyinfra.operations.util import any_changed

from prep_iac import paths
from prep_iac.components.common import config

GROUP = "prep-sftp"
JAIL = "/srv/sftp/iec"
KEYS_DIR = "/etc/ssh/prep-sftp-keys"
DROP_IN = "/etc/ssh/sshd_config.d/50-prep-sftp-jail.conf"
STAGED = "/etc/prep-iac/staged/50-prep-sftp-jail.conf"
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

    server.group(name=f"group {GROUP}", group=GROUP, system=True)
    server.user(name=f"jail account {user}", user=user, group=GROUP, system=True,
                home=JAIL, create_home=False, ensure_home=False, shell="/usr/sbin/nologin",
                present=True)  # system accounts are created without a password: keys only

    # sshd demands every component of ChrootDirectory be root-owned and not writable by others.
    for path in ("/srv", "/srv/sftp", JAIL):
        files.directory(name=f"root-owned {path}", path=path, user="root", group="root",
                        mode="755")
    files.directory(name="incoming/: the only place the IEC writes", path=f"{JAIL}/incoming",
                    user=user, group=GROUP, mode="700")
    files.directory(name="estado/: what the IEC reads back", path=f"{JAIL}/estado",
                    user="root", group="root", mode="755")

    files.directory(name="jail keys folder", path=KEYS_DIR, user="root", group="root",
                    mode="755")
    files.put(name=f"the IEC's SFTP keys for {user}", src=StringIO(authorized_keys(iec.sftp_keys)),
              dest=f"{KEYS_DIR}/{user}", user="root", group="root", mode="644")

    apply = files.put(name="prep-sshd-apply", src=paths.template("sftp", "prep-sshd-apply.sh"),
                      dest=APPLY, user="root", group="root", mode="755")
    staged = files.template(name="stage the jail's sshd drop-in",
                            src=paths.template("sftp", "50-prep-sftp-jail.conf.j2"),
                            dest=STAGED, create_remote_dir=True, user="root", group="root",
                            mode="600", sftp_group=GROUP, jail=JAIL, keys_dir=KEYS_DIR,
                            sources=list(iec.sources))
    server.shell(name="sshd -t, then put the jail's drop-in live and reload",
                 commands=[f"{APPLY} {STAGED} {DROP_IN}"],
                 _if=any_changed(staged, apply))
