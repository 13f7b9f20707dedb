"""The Institute's read-only account on a difusor (issue 19.5, CONV-IV end: the Institute
may check the difusor itself): `iec-lector` (prep_iac/contract.py), only when the inventory
gives `iec.auditor_keys`.

Keys only, from a root-owned file, only from the IEC's sources (sshd Match, like the SFTP
jail), no tty or forwarding. sudo: exactly the read-only command lines the checks need
(prep_iac/conformance/reader.py), no wildcard, every use and every refusal logged to the
journal. Its home is root's, so it writes nowhere the PREP lives. Without keys, the account
and its files are removed.
"""

from io import StringIO

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import files, server, systemd
from pyinfra.operations.util import any_changed

from prep_iac.components import distro
from prep_iac.components.common import config, install_validated
from prep_iac.conformance import reader
from prep_iac.contract import READER_GROUP, READER_USER

KEYS_DIR = f"/etc/ssh/{READER_GROUP}-keys"
KEYS_FILE = f"{KEYS_DIR}/{READER_USER}"
HOME = f"/var/lib/{READER_USER}"
SUDOERS = f"/etc/sudoers.d/{READER_GROUP}"  # no dot in the name: sudo skips files with one
DROP_IN = f"40-{READER_GROUP}.conf"  # after the hardening's 10-, before the jail's 50-
# Each key: commands only, nothing forwarded, no tty.
KEY_OPTIONS = "restrict"


def authorized_keys(keys: list[str]) -> str:
    return "".join(f"{KEY_OPTIONS} {k.strip()}\n" for k in keys)


def sshd_dropin(sources: list[str]) -> str:
    from prep_iac.components.common import render

    return render("reader", f"{DROP_IN}.j2", user=READER_USER, keys_file=KEYS_FILE,
                  sources=sources)


@deploy("reader: the Institute's read-only account")
def account():
    cfg = config()
    d = distro.for_host()
    dropin = f"{d['sshd_dropin_dir']}/{DROP_IN}"
    if not cfg.iec.auditor_keys:
        removed = files.file(name=f"no {DROP_IN} (no iec.auditor_keys)", path=dropin,
                             present=False)
        files.file(name=f"no sudoers for {READER_USER}", path=SUDOERS, present=False)
        files.file(name=f"no keys for {READER_USER}", path=KEYS_FILE, present=False)
        server.user(name=f"no account {READER_USER}", user=READER_USER, present=False)
        systemd.service(name="reload sshd", service=d["ssh_service"], reloaded=True,
                        _if=removed.did_change)
        return

    server.group(name=f"group {READER_GROUP}", group=READER_GROUP, system=True)
    files.directory(name=f"{HOME}: root's, the account writes nothing there", path=HOME,
                    user="root", group="root", mode="755")
    # A shell, because verify runs commands; no password (system account): keys only.
    server.user(name=f"read-only account {READER_USER}", user=READER_USER, group=READER_GROUP,
                system=True, home=HOME, create_home=False, ensure_home=False, shell="/bin/sh",
                present=True)
    files.directory(name="reader keys folder", path=KEYS_DIR, user="root", group="root",
                    mode="755")
    keys = files.put(name=f"the IEC's keys for {READER_USER}",
                     src=StringIO(authorized_keys(cfg.iec.auditor_keys)), dest=KEYS_FILE,
                     user="root", group="root", mode="644")
    install_validated(f"sudoers for {READER_USER}",
                      {SUDOERS: reader.sudoers(reader.root_commands(cfg.inventory, host.name))},
                      "visudo -c -q -f {candidate}", mode="0440")
    op = install_validated(f"sshd drop-in for {READER_USER}",
                           {dropin: sshd_dropin(list(cfg.iec.sources))}, "sshd -t")
    systemd.service(name="reload sshd", service=d["ssh_service"], reloaded=True,
                    _if=any_changed(*(o for o in (op, keys) if o is not None)))
