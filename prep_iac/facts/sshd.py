"""Facts about OpenSSH on the host: version, effective sshd settings, host keys, moduli, and
the SSH session the deploy itself runs in (for the never-lock-the-admin-out guard)."""

import re

from pyinfra.api import FactBase

_VERSION = re.compile(r"OpenSSH_(\d+)\.(\d+)")


def parse_openssh_version(text: str) -> tuple[int, int] | None:
    match = _VERSION.search(text or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


class OpenSshVersion(FactBase):
    """(major, minor) of the installed OpenSSH, e.g. (9, 2) on Debian 12; None if absent."""

    def requires_command(self):
        return "ssh"

    def command(self):
        # The client and the server come from the same source package; `ssh -V` works on
        # every version, `sshd -V` only on recent ones.
        return "ssh -V 2>&1"

    def process(self, output):
        return parse_openssh_version("\n".join(output))

    def default(self):
        return None


def parse_sshd_t(lines) -> dict[str, list[str]]:
    """`sshd -T` output: one `keyword value…` a line, some keywords repeated (hostkey…)."""
    settings: dict[str, list[str]] = {}
    for line in lines:
        key, _, value = line.strip().partition(" ")
        if key:
            settings.setdefault(key.lower(), []).append(value.strip())
    return settings


class SshdConfig(FactBase):
    """The settings sshd really uses (`sshd -T`), optionally for a given connection
    (`-C user=…,host=…,addr=…`) so Match blocks apply. Keys lower-case, values lists."""

    def requires_command(self, connection=None):
        return "sshd"

    def command(self, connection=None):
        spec = f" -C {connection}" if connection else ""
        return f"sshd -T{spec}"

    def process(self, output):
        return parse_sshd_t(output)

    def default(self):
        return {}


class SshSession(FactBase):
    """Who the deploy is and where it connects from: the login user and `$SSH_CONNECTION`.

    Read it with `_sudo=False`: sudo resets the environment and would hide both."""

    def command(self):
        return 'echo "$(id -un)|${SSH_CONNECTION:-}"'

    def process(self, output):
        user, _, connection = "\n".join(output).strip().partition("|")
        parts = connection.split()
        session = {"user": user, "client": None, "server": None, "server_port": None}
        if len(parts) == 4:
            session.update(client=parts[0], server=parts[2], server_port=int(parts[3]))
        return session


class SshHostKeys(FactBase):
    """Host keys present: [{"path", "bits", "type"}] from `ssh-keygen -l` of each .pub."""

    def requires_command(self):
        return "ssh-keygen"

    def command(self):
        return ('for f in /etc/ssh/ssh_host_*_key.pub; do [ -e "$f" ] || continue; '
                'echo "$f $(ssh-keygen -l -f "$f")"; done')

    def process(self, output):
        keys = []
        for line in output:
            parts = line.split()
            if len(parts) >= 3 and parts[1].isdigit():
                keys.append({"path": parts[0].removesuffix(".pub"), "bits": int(parts[1]),
                             "type": parts[-1].strip("()").upper()})
        return keys

    def default(self):
        return []


class WeakModuli(FactBase):
    """How many Diffie-Hellman groups in a moduli file are smaller than `bits`; -1 when the
    file is missing."""

    def command(self, bits=3072, path="/etc/ssh/moduli"):
        # Field 5 is the size minus one (3071 for a 3072-bit group).
        return (f"[ -f {path} ] && awk '$1 !~ /^#/ && NF >= 7 && $5 + 1 < {int(bits)} "
                f"{{n++}} END {{print n+0}}' {path} || echo -1")

    def process(self, output):
        text = output[0].strip() if output else ""
        return int(text) if text.lstrip("-").isdigit() else -1
