"""Facts that read configuration as the daemons see it: the files of a directory, the files
nginx really loaded (`nginx -T`), and kernel parameters now in force (`sysctl`)."""

import re
import shlex

from pyinfra.api import FactBase

MARK = "==> prep-iac file: "
_NGINX_FILE = re.compile(r"^# configuration file (\S+):$")


def split_marked(lines, mark=MARK) -> dict[str, str]:
    """Lines of `MARK path` headers each followed by that file's text -> {path: text}."""
    out: dict[str, list[str]] = {}
    current = None
    for line in lines:
        if line.startswith(mark):
            current = line[len(mark):].strip()
            out[current] = []
        elif current is not None:
            out[current].append(line)
    return {path: "\n".join(text) for path, text in out.items()}


def split_nginx_t(lines) -> dict[str, str]:
    """`nginx -T` output -> {file it loaded: its text}."""
    out: dict[str, list[str]] = {}
    current = None
    for line in lines:
        match = _NGINX_FILE.match(line)
        if match:
            current = match.group(1)
            out[current] = []
        elif current is not None:
            out[current].append(line)
    return {path: "\n".join(text) for path, text in out.items()}


class FilesIn(FactBase):
    """{path: text} of the regular files (or links to them) matching a glob, e.g.
    FilesIn("/etc/sudoers.d/*")."""

    def command(self, pattern):
        return (f"for f in {pattern}; do [ -f \"$f\" ] || continue; "
                f"echo {shlex.quote(MARK)}\"$f\"; cat \"$f\"; echo; done")

    def process(self, output):
        return split_marked(output)

    def default(self):
        return {}


class NginxLoaded(FactBase):
    """{path: text} of every file nginx loads now (`nginx -T`); {} when nginx is absent or
    its configuration does not load."""

    def requires_command(self):
        return "nginx"

    def command(self):
        return "nginx -T 2>/dev/null || true"

    def process(self, output):
        return split_nginx_t(output)

    def default(self):
        return {}


class SysctlValues(FactBase):
    """{key: value now in force} for the keys asked (values with runs of spaces squeezed)."""

    def command(self, keys):
        return "sysctl -e " + " ".join(shlex.quote(k) for k in keys) + " || true"

    def process(self, output):
        values = {}
        for line in output:
            key, sep, value = line.partition(" = ")
            if sep:
                values[key.strip()] = " ".join(value.split())
        return values

    def default(self):
        return {}
