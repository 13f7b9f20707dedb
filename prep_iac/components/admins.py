"""Admin access (CONV-IV.1): named admin accounts with keys, and sudo for them, logged.
The lock-out guard and the validated install every security component uses live in
components/common.py."""

from pyinfra.api import deploy
from pyinfra.operations import server

from prep_iac.components import converge
from prep_iac.components.common import config, install_validated, refuse_lockout, render
from prep_iac.components.reader import SUDOERS as READER_SUDOERS
from prep_iac.contract import ADMIN_GROUP

SUDOERS = f"/etc/sudoers.d/{ADMIN_GROUP}"  # no dot in the name: sudo skips files with one


@deploy("admins.accounts")
def accounts():
    refuse_lockout()
    cfg = config()
    server.group(name=f"group {ADMIN_GROUP}", group=ADMIN_GROUP)
    for account in cfg.admins.accounts:
        # No password is ever set: useradd leaves it locked; login is by key alone.
        server.user(name=f"admin {account.name}", user=account.name, shell="/bin/bash",
                    home=f"/home/{account.name}", create_home=True, groups=[ADMIN_GROUP],
                    append=True, public_keys=list(account.keys), delete_keys=True)
    install_validated(f"sudoers for {ADMIN_GROUP}",
                      {SUDOERS: render("hardening", "sudoers.j2", group=ADMIN_GROUP)},
                      "visudo -c -q -f {candidate}", mode="0440")
    # Grants to others and weaker Defaults from other files go (the admins' own stay).
    # The Institute's read-only account has its own, exact grants (components/reader.py).
    converge.sudoers({SUDOERS, READER_SUDOERS}, {a.name for a in cfg.admins.accounts},
                     ADMIN_GROUP)
