"""Helpers every component uses: the host's typed config, templates, validated config files,
and the rules every security component follows to change a host without locking its admins
out.

- `refuse_lockout()` runs before any change: the deploy must come from an address inside
  `admins.networks`, as an admin account of the inventory. Otherwise it stops, on that host,
  before a single operation runs (pyinfra collects every operation before executing any).
- `install_validated()` writes config files aside, checks them with the daemon's own
  validator, and only then moves them into place; a file that fails is never loaded.
"""

import hashlib
import ipaddress
import shlex
from io import StringIO

import jinja2
from pyinfra import host, logger
from pyinfra.api.exceptions import DeployError
from pyinfra.facts.files import Sha1File
from pyinfra.operations import files, server, systemd
from pyinfra.operations.util import any_changed

from prep_iac import paths
from prep_iac.errors import PrepError
from prep_iac.facts.sshd import SshSession
from prep_iac.inventory.hostconfig import HostConfig

NEW = ".prep-new"  # candidates: no config directory glob of ours matches this suffix
OLD = ".prep-old"
_checked: set[str] = set()  # hosts whose session passed refuse_lockout() in this run


def config() -> HostConfig:
    """The typed inventory view of the host being deployed (``host.data.prep``)."""
    cfg = host.data.get("prep")
    if not isinstance(cfg, HostConfig):
        raise PrepError(f"{host.name}: no prep-iac data in this inventory",
                        "use a prep-iac inventory: an inventories/*.py shim, or "
                        "prep-iac deploy ROLE -i FILE.yml")
    return cfg


def install_units(component: str, units: dict[str, str], running: list[str], **ctx) -> None:
    """A component's systemd units from its templates (unit name -> template file), one
    daemon-reload when any changed, and the units that must be enabled and running."""
    ops = [files.template(name=f"unit {unit}", src=paths.template(component, src),
                          dest=f"/etc/systemd/system/{unit}", user="root", group="root",
                          mode="644", **ctx) for unit, src in units.items()]
    systemd.daemon_reload(name=f"systemd reads the {component}'s units", _if=any_changed(*ops))
    for unit in running:
        systemd.service(name=f"{unit} enabled and running", service=unit, running=True,
                        enabled=True)


def has_role(role: str) -> bool:
    """Deploy files run on a whole inventory; each acts only on its own group's hosts."""
    cfg = host.data.get("prep")
    if isinstance(cfg, HostConfig) and cfg.role == role:
        return True
    logger.info(f"{host.name}: not a {role}, nothing to do")
    return False


def render(component: str, name: str, **context) -> str:
    """A template of ours rendered locally, so its hash can be compared with the host's."""
    with open(paths.template(component, name), encoding="utf-8") as handle:
        text = handle.read()
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                             undefined=jinja2.StrictUndefined)
    return env.from_string(text).render(**context)


def refuse_lockout() -> None:
    """Stop before any change unless this session is an admin, from an admin network."""
    if host.name in _checked:
        return
    cfg = config()
    if host.connector_cls.__name__ != "SSHConnector":
        logger.info(f"{host.name}: not an SSH session ({host.connector_cls.__name__}); "
                    "lock-out guard not applicable")
        _checked.add(host.name)
        return
    session = host.get_fact(SshSession, _sudo=False)
    user, client = session["user"], session["client"]
    admins = {a.name for a in cfg.admins.accounts}
    networks = ", ".join(cfg.admins.networks)
    if user not in admins:
        raise DeployError(
            f"{host.name}: refusing to change anything: this deploy logs in as {user!r}, which "
            f"is not an admin account of the inventory ({', '.join(sorted(admins))}). After "
            "this deploy only those accounts, with their keys, can log in: connect as one of "
            "them (ssh_user in the inventory).")
    if not client:
        raise DeployError(
            f"{host.name}: refusing to change anything: cannot tell which address this deploy "
            "connects from ($SSH_CONNECTION is empty), so cannot prove the firewall and sshd "
            f"will still let it in (admins.networks: {networks}).")
    address = ipaddress.ip_address(client)
    if getattr(address, "ipv4_mapped", None):
        address = address.ipv4_mapped
    if not cfg.admins.allows(str(address)):
        raise DeployError(
            f"{host.name}: refusing to change anything: this deploy connects from {address}, "
            f"outside admins.networks ({networks}). The firewall and sshd would lock this "
            "session out. Add the network you administer from to admins.networks, or deploy "
            "from inside one of them.")
    # fail2ban must never be free to ban this session's address: a ban drops its new
    # connections (the next deploy, a second terminal) until it ends.
    from prep_iac.components import ids  # ids imports this module

    ignored = ids.ignored(cfg)
    if not any(address in ipaddress.ip_network(n, strict=False) for n in ignored):
        raise DeployError(
            f"{host.name}: refusing to change anything: this deploy connects from {address}, "
            f"which fail2ban would be free to ban (its ignoreip: {' '.join(ignored)}); a ban "
            "would drop this session's new connections. Every admin network must be in "
            "fail2ban's ignoreip (prep_iac.components.ids.ignored).")
    _checked.add(host.name)


def install_validated(name: str, contents: dict[str, str], validate: str, *, mode="0644",
                      user="root", group="root"):
    """Put `contents` ({path: text}) in place only if `validate` accepts them.

    `validate` is a shell command. With `{candidate}` in it (one file), it checks the file
    written aside before the move. Without, the files are swapped in, the command checks the
    whole configuration, and on failure the previous files come back; the daemon is only
    reloaded by the caller, after success. Returns the operation (for `_if=op.did_change`),
    or None when every file already has this content.
    """
    changed = {}
    for path, text in contents.items():
        want = hashlib.sha1(text.encode()).hexdigest()
        if host.get_fact(Sha1File, path=path) != want:
            changed[path] = text
    if not changed:
        return None
    for path, text in changed.items():
        files.put(name=f"{name}: stage {path}", src=StringIO(text), dest=path + NEW,
                  mode=mode, user=user, group=group)
    return server.shell(name=f"{name}: validate and install", commands=[
        _swap_script(list(changed), validate)])


def _swap_script(paths: list[str], validate: str) -> str:
    q = shlex.quote
    if "{candidate}" in validate:
        (path,) = paths  # a candidate-only validator checks one file
        check = validate.format(candidate=q(path + NEW))
        return (f"if ! out=$({check} 2>&1); then echo \"$out\" >&2; rm -f {q(path + NEW)}; "
                f"echo 'prep-iac: {path} failed validation; the running config is unchanged' >&2;"
                f" exit 1; fi; mv -f {q(path + NEW)} {q(path)}")
    backup = "; ".join(f"if [ -e {q(p)} ]; then cp -a {q(p)} {q(p + OLD)}; fi" for p in paths)
    swap = "; ".join(f"mv -f {q(p + NEW)} {q(p)}" for p in paths)
    restore = "; ".join(f"if [ -e {q(p + OLD)} ]; then mv -f {q(p + OLD)} {q(p)}; "
                        f"else rm -f {q(p)}; fi" for p in paths)
    cleanup = "rm -f " + " ".join(q(p + OLD) for p in paths)
    return (f"{backup}; {swap}; if ! out=$({validate} 2>&1); then echo \"$out\" >&2; {restore}; "
            f"echo 'prep-iac: validation failed; previous files restored, nothing reloaded' >&2;"
            f" exit 1; fi; {cleanup}")
