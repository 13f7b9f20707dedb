"""The effective configuration (docs/security.md, "Effective configuration"): a deploy owns
what the daemons really use, not only its own files. A foreign file or table that overrides
a hardened value (sshd, sysctl, sudoers, nginx, nftables) is neutralised: moved into
NEUTRALISED (nothing is lost; a line in the journal, tag prep-iac), and the values in force
are checked after the deploy with the daemon's own view (`sshd -T`, `sysctl`, `visudo -c`,
`nginx -T`, `nft list tables`).

The rules that decide what overrides are pure functions below; the components call the
operations at the right point of their deploy."""

import re
import shlex
from pathlib import PurePosixPath

from pyinfra import host, logger
from pyinfra.api.exceptions import DeployError
from pyinfra.operations import server

from prep_iac.components.conffiles import script
from prep_iac.facts.config_files import FilesIn, NginxLoaded, SysctlValues
from prep_iac.facts.nftables import NftRuleset
from prep_iac.facts.sshd import SshdConfig

q = shlex.quote


def lines(text: str):
    """Non-blank lines without comments (a '#' at the start)."""
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            yield line


# ---- sshd: the first value sshd reads wins, so any drop-in that sets one of our keywords
# can override ours (sorted before it), and one sorted after is a trap for the next rename.

# Keywords whose loss could cut the deploy's own session: a file setting them is never moved
# silently; the deploy stops and says what to do.
SSHD_REACH = {"port", "listenaddress", "addressfamily"}
SSHD_T_SILENT = {"debianbanner"}  # Debian's own keyword: `sshd -T` does not print it


def sshd_keywords(text: str) -> set[str]:
    return {line.split()[0].lower() for line in lines(text)} - {"match"}


def sshd_overriders(files: dict[str, str], ours: set[str], keywords: set[str]) -> dict:
    """{path: [our keywords it sets]} for the foreign *.conf drop-ins (sshd reads no other)."""
    found = {}
    for path, text in sorted(files.items()):
        name = PurePosixPath(path).name
        if name in ours or not name.endswith(".conf"):
            continue
        hits = sshd_keywords(text) & keywords
        if hits:
            found[path] = sorted(hits)
    return found


def sshd_expected(text: str) -> dict[str, str]:
    """Our single-word settings outside Match blocks, as `sshd -T` prints them."""
    expected = {}
    for line in lines(text):
        words = line.split()
        if words[0].lower() == "match":
            break
        if len(words) == 2 and words[0].lower() not in SSHD_T_SILENT:
            expected.setdefault(words[0].lower(), words[1].lower())
    return expected


def sshd_differs(effective: dict[str, list[str]], expected: dict[str, str]) -> list[str]:
    return sorted(k for k, v in expected.items()
                  if [x.lower() for x in effective.get(k, [])[:1]] != [v])


def sshd(dropin_dir: str, ours: set[str], our_text: str) -> bool:
    """Neutralise foreign drop-ins that set our keywords. True when one was moved (sshd
    must reload)."""
    files = host.get_fact(FilesIn, pattern=f"{dropin_dir}/*")
    found = sshd_overriders(files, ours, sshd_keywords(our_text))
    for path, keywords in found.items():
        reach = SSHD_REACH & set(sshd_keywords(files[path]))
        if reach:
            raise DeployError(
                f"{host.name}: {path} overrides the SSH hardening ({', '.join(keywords)}) and "
                f"also sets {', '.join(sorted(reach))}, which this deploy may be connected "
                "through: move those lines to a file of their own, remove the rest, and "
                "deploy again.")
        neutralise(path, "sets " + ", ".join(keywords))
    if found:
        server.shell(name="sshd -t: what is left is valid", commands=["sshd -t"])
    return bool(found)


def sshd_check(our_text: str, neutralised: bool) -> None:
    """After the reload: `sshd -T` shows every hardened value (run when something was off)."""
    expected = sshd_expected(our_text)
    if neutralised or sshd_differs(host.get_fact(SshdConfig), expected):
        server.shell(name="sshd -T: the hardened values in force",
                     commands=[in_force_command("sshd -T", [f"{k} {v}" for k, v in
                                                            sorted(expected.items())])])


def in_force_command(show: str, wanted: list[str]) -> str:
    """Shell: every line of `wanted` appears (case-insensitive, whole line) in `show`'s
    output; otherwise fail naming what differs."""
    items = " ".join(q(w) for w in wanted)
    return (f"out=$({show}); bad=; for w in {items}; do "
            "printf '%s\\n' \"$out\" | grep -qixF -- \"$w\" || bad=\"$bad [$w]\"; done; "
            f"if [ -n \"$bad\" ]; then echo \"prep-iac: not in force ({show}):$bad\" >&2; "
            "exit 1; fi")


# ---- sysctl: files are read in name order, the last value wins.

def sysctl_settings(text: str) -> dict[str, str]:
    out = {}
    for line in lines(text):
        key, sep, value = line.lstrip("-").partition("=")
        if sep:
            out[key.strip()] = " ".join(value.split())
    return out


def sysctl_overriders(files: dict[str, str], ours: dict[str, str]) -> dict:
    """{path: [keys]} for foreign files read after ours that set one of our keys otherwise.
    `ours`: {path: text} of our files."""
    expected = {}
    for text in ours.values():
        expected.update(sysctl_settings(text))
    first = min(PurePosixPath(p).name for p in ours)
    found = {}
    for path, text in sorted(files.items()):
        if path in ours or PurePosixPath(path).name < first:
            continue
        keys = sorted(k for k, v in sysctl_settings(text).items()
                      if k in expected and v != expected[k])
        if keys:
            found[path] = keys
    return found


def sysctl(sysctl_dir: str, ours: dict[str, str], package_files: list[str]) -> None:
    """Neutralise foreign sysctl.d files that undo ours, apply ours again, check the values.
    `package_files` (a package's link to /etc/sysctl.conf) are never moved: a warning says
    which line to remove by hand (it wins at the next boot)."""
    files = host.get_fact(FilesIn, pattern=f"{sysctl_dir}/*.conf")
    found = sysctl_overriders(files, ours)
    for path, keys in list(found.items()):
        if path in package_files:
            logger.warning(f"{host.name}: {path} (a package's file) sets {', '.join(keys)} "
                           "against the hardening; remove those lines by hand: they win at "
                           "the next boot")
            del found[path]
    for path, keys in found.items():
        neutralise(path, "sets " + ", ".join(keys))
    expected = {}
    for text in ours.values():
        expected.update(sysctl_settings(text))
    now = host.get_fact(SysctlValues, keys=sorted(expected))
    if found or any(now.get(k) != v for k, v in expected.items()):
        apply = "; ".join(f"sysctl -q -p {q(p)} >/dev/null" for p in sorted(ours))
        server.shell(name="sysctl: our values in force", commands=[
            apply, in_force_command("sysctl " + " ".join(sorted(expected)) + " | tr -s ' \\t' ' '",
                                    [f"{k} = {v}" for k, v in sorted(expected.items())])])


# ---- sudoers: what sudo reads from sudoers.d (names without '.' or a trailing '~').

ALIASES = ("User_Alias", "Runas_Alias", "Host_Alias", "Cmnd_Alias", "Cmd_Alias")


def sudoers_overriders(files: dict[str, str], ours: set[str], admins: set[str],
                       group: str) -> dict:
    """{path: [reasons]} for foreign sudoers.d files that change Defaults (logging, pty,
    authentication), include more files, or grant to anyone but the inventory's admins."""
    found = {}
    for path, text in sorted(files.items()):
        name = PurePosixPath(path).name
        if path in ours or "." in name or name.endswith("~") or name == "README":
            continue
        reasons = []
        for line in text.splitlines():
            line = line.strip()
            if line.startswith(("#include", "@include")):
                reasons.append(f"includes {line.split(None, 1)[-1]}")
                continue
            if not line or line.startswith("#") or line.endswith("\\"):
                continue
            first = line.split()[0]
            if re.match(r"Defaults\b", first):
                reasons.append(line)
            elif first not in ALIASES:
                for who in first.split(","):
                    if who != f"%{group}" and who not in admins:
                        reasons.append(f"grants to {who}")
        if reasons:
            found[path] = reasons
    return found


def sudoers(ours: set[str], admins: set[str], group: str) -> None:
    files = host.get_fact(FilesIn, pattern="/etc/sudoers.d/*")
    found = sudoers_overriders(files, ours, admins, group)
    for path, reasons in found.items():
        neutralise(path, "; ".join(reasons))
    if found:
        server.shell(name="sudoers: visudo accepts what is left", commands=["visudo -c -q"])


# ---- nginx: what `nginx -T` loads; a foreign server or header setting competes with ours.

NGINX_DIRECTIVES = {"listen", "server_name", "add_header", "add_trailer", "more_set_headers",
                    "more_clear_headers", "proxy_hide_header", "server_tokens"}
_NGINX_WORD = re.compile(r"(?:^|[;{}])\s*([a-z_]+)(?=[\s{;])")


def nginx_ours(path: str) -> bool:
    """Our files: nginx.conf (diverted, ours) and everything named prep* under /etc/nginx."""
    parts = PurePosixPath(path).parts
    return path == "/etc/nginx/nginx.conf" or (
        parts[:3] == ("/", "etc", "nginx") and any(p.startswith("prep") for p in parts[3:]))


def nginx_overriders(loaded: dict[str, str]) -> dict:
    """{path: [directives]} for loaded foreign files with a server block or a directive
    that sets or hides response headers."""
    found = {}
    for path, text in sorted(loaded.items()):
        if nginx_ours(path):
            continue
        body = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
        words = set(_NGINX_WORD.findall(body))
        hits = sorted(words & (NGINX_DIRECTIVES | {"server"}))
        if hits:
            found[path] = hits
    return found


def nginx() -> None:
    found = nginx_overriders(host.get_fact(NginxLoaded))
    for path, directives in found.items():
        neutralise(path, "declares " + ", ".join(directives))
    if found:
        gone = " ".join(q(f"# configuration file {p}:") for p in found)
        server.shell(name="nginx: only our servers and headers, reloaded", commands=[
            "nginx -t -q",
            (f"for line in {gone}; do if nginx -T 2>/dev/null | grep -qxF -- \"$line\"; then "
             "echo \"prep-iac: nginx still loads: $line\" >&2; exit 1; fi; done"),
            "systemctl reload nginx"])


# ---- nftables: our table is the firewall; a foreign base chain on the same hooks is not.

_TABLE = re.compile(r"^table (\S+) (\S+) \{")


def nft_foreign_tables(ruleset: str, ours=("inet", "prep")) -> dict:
    """{(family, name): [hooks]} for loaded tables other than ours with base chains."""
    found: dict = {}
    table = None
    for line in ruleset.splitlines():
        match = _TABLE.match(line)
        if match:
            table = (match.group(1), match.group(2))
            continue
        hook = re.search(r"\bhook (\w+)", line)
        if hook and table and table != tuple(ours):
            found.setdefault(table, [])
            if hook.group(1) not in found[table]:
                found[table].append(hook.group(1))
    return found


def nft_fragment_overriders(files: dict[str, str], ours=("inet", "prep")) -> dict:
    """{path: [reasons]} for fragments our ruleset includes that flush the ruleset, touch our
    table, or add base chains of their own."""
    found = {}
    family, name = ours
    for path, text in sorted(files.items()):
        reasons = []
        body = "\n".join(lines(text))
        if re.search(r"\bflush ruleset\b", body):
            reasons.append("flush ruleset")
        if re.search(rf"\b(delete|flush|destroy) table {family} {name}\b", body):
            reasons.append(f"removes table {family} {name}")
        if re.search(r"\bhook \w+", body):
            reasons.append("a base chain of its own")
        if reasons:
            found[path] = reasons
    return found


def nftables_fragments(fragments_dir: str) -> bool:
    """Before our ruleset is checked and loaded (it includes these). True when one was moved
    (the ruleset must be loaded again)."""
    found = nft_fragment_overriders(host.get_fact(FilesIn, pattern=f"{fragments_dir}/*.nft"))
    for path, reasons in found.items():
        neutralise(path, "; ".join(reasons))
    return bool(found)


def nftables_tables() -> None:
    """After our ruleset is loaded: foreign tables with base chains go (saved first)."""
    found = nft_foreign_tables(host.get_fact(NftRuleset))
    for (family, name), hooks in found.items():
        server.shell(name=f"neutralise nftables table {family} {name}", commands=[script(
            f"neutralise_table {q(family)} {q(name)} "
            + q("base chains on " + ", ".join(hooks) + " beside the PREP firewall"))])
    if found:
        wanted = " ".join(q(f"table {f} {n}") for f, n in found)
        server.shell(name="nftables: our table alone on the hooks", commands=[
            "nft list table inet prep >/dev/null",
            (f"for t in {wanted}; do if nft list tables | grep -qxF -- \"$t\"; then "
             "echo \"prep-iac: $t is still loaded\" >&2; exit 1; fi; done")])


def neutralise(path: str, why: str):
    return server.shell(name=f"neutralise {path}", commands=[
        script(f"neutralise {q(path)} {q(why)}")])
