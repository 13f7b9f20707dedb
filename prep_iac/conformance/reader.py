"""The Institute's read-only account (contract.READER_USER): which commands of the checks it
may run as root, exactly, and how `verify --cuenta-iec` sends them there.

testinfra with ``--sudo`` wraps every command in ``sudo /bin/sh -c '…'``, which no sudoers
rule can allow safely (it is a root shell). So the reader's verify runs WITHOUT --sudo, as
the account itself, and only the command lines of this list go through ``sudo -n``. The
deploy writes the same list, line for line, as the account's sudoers rule (exact arguments,
no wildcard): one definition, read by both sides. Everything else runs unprivileged; a check
whose command the account may not run reports "no aplica", naming it (collector).
"""

from __future__ import annotations

import re

from prep_iac.contract import ACTIVATOR_CONFIG, ADMIN_GROUP, READER_USER

SUDO = "sudo -n "
# Where the programs are on the supported distributions (sudoers wants absolute paths).
PROGRAMS = {
    "sshd": "/usr/sbin/sshd", "nft": "/usr/sbin/nft", "nginx": "/usr/sbin/nginx",
    "visudo": "/usr/sbin/visudo", "auditctl": "/usr/sbin/auditctl",
    "fail2ban-client": "/usr/bin/fail2ban-client", "passwd": "/usr/bin/passwd",
    "getent": "/usr/bin/getent", "cat": "/usr/bin/cat", "stat": "/usr/bin/stat",
    "test": "/usr/bin/test", "journalctl": "/usr/bin/journalctl",
    "logrotate": "/usr/sbin/logrotate", "dpkg": "/usr/bin/dpkg",
}
F2B_JAILS = ("sshd", "prep-web-volume", "recidive")
# Files only root reads, which the checks read (testinfra: cat --) and stat (stat -Lc, test -e).
ROOT_FILES = (f"/etc/sudoers.d/{ADMIN_GROUP}", "/root/.ssh/authorized_keys", ACTIVATOR_CONFIG)
# What may follow an allowed command line in the suites' shell text: nothing, a pipe, a
# redirection. The allowed part itself runs under sudo; the rest stays the reader's.
_TAIL = re.compile(r"(\s*(\||2>|>|&&|\|\||;).*)?", re.DOTALL)


def _file_commands(path: str, read: bool = True) -> list[str]:
    return [*([f"cat -- {path}"] if read else []), f"test -e {path}",
            *(f"stat -Lc %{f} {path}" for f in "aUG")]


def root_commands(inventory, name: str) -> list[str]:
    """The exact command lines the checks of host `name` run that need root, and that only
    read: tests of config (-t/-T/-c), listings, status queries, and named root-only files."""
    from prep_iac.components.firewall import RULESET
    from prep_iac.components.tls import PRIVKEY
    from prep_iac.conformance.suites.test_pipeline import first_source_address, outside

    # dpkg --verify: conffiles only root may read (sudoers, NUT's) are "?" to anyone else.
    cmds = ["sshd -T", "nft list table inet prep", f"nft -c -f {RULESET}", "dpkg --verify",
            "nginx -t", "nginx -T", "visudo -c -q", "auditctl -l", "journalctl --header -q",
            "fail2ban-client status", "fail2ban-client get recidive journalmatch",
            *(f"fail2ban-client get {jail} ignoreip" for jail in F2B_JAILS)]
    for account in inventory.admins.accounts:
        cmds += [f"passwd -S {account.name}",
                 *_file_commands(f"/home/{account.name}/.ssh/authorized_keys")]
    for path in ROOT_FILES:
        cmds += _file_commands(path)
    cmds += _file_commands(PRIVKEY, read=False)  # a secret: its owner and mode, never its content
    if name in inventory.difusores:
        iec = inventory.iec
        cmds.append(f"getent shadow {iec.jail_user}")
        for addr in (first_source_address(iec.sources), outside(iec.sources)):
            if addr:
                cmds.append(f"sshd -T -C user={iec.jail_user},host=prep-check,addr={addr}")
        admin_addr = first_source_address(inventory.admins.networks)
        for account in inventory.admins.accounts:  # the jail leaves the admins' sftp alone
            cmds.append(f"sshd -T -C user={account.name},host=prep-check,addr={admin_addr}")
    return list(dict.fromkeys(cmds))


def sudoers(commands: list[str]) -> str:
    """The reader's sudoers file: these command lines, exactly, as root, every one logged."""
    lines = []
    for command in commands:
        program, _, args = command.partition(" ")
        line = PROGRAMS[program] + (f" {args}" if args else "")
        # sudoers treats these characters specially in a command's arguments.
        lines.append(re.sub(r"([\\,:=])", r"\\\1", line))
    body = ", \\\n    ".join(lines)
    return ("# Managed by prep-iac (reader component, docs/conformance.md): the Institute's\n"
            "# read-only account may run exactly these commands as root; each one is logged.\n"
            "# No password to ask (the account has none): a command off the list is refused\n"
            "# and logged as \"command not allowed\" at once, not as a failed password prompt.\n"
            f"Defaults:{READER_USER} !authenticate, !lecture, log_allowed, log_denied, "
            "syslog=authpriv\n"
            f"Cmnd_Alias PREP_LECTURA = {body}\n"
            f"{READER_USER} ALL=(root) NOPASSWD: PREP_LECTURA\n")


def route(command: str, allowed: list[str] | set[str]) -> str:
    """`command` with its allowed leading command line sent through sudo -n; else as is."""
    for entry in sorted(allowed, key=len, reverse=True):
        if command.startswith(entry) and _TAIL.fullmatch(command[len(entry):]):
            return SUDO + command
    return command
