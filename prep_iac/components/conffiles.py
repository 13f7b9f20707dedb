"""Debian's own configuration files (docs/security.md, "Debian's own files"): a deploy never
leaves a package's conffile changed, so an upgrade during the election window never asks
about one or holds it back. Settings go in drop-ins and files of our own; where a package
offers no drop-in, the conffile is diverted (`dpkg-divert --local`): dpkg puts the
package's versions beside it and ours stays. Which file gets which is in distro.py.

Hosts deployed by earlier versions had the conffiles overwritten: the package's own comes
back from the installed version's .deb (checked against dpkg's checksum; no maintainer
script runs, nothing restarts), and the changed file is kept in NEUTRALISED."""

import shlex

from pyinfra import host
from pyinfra.operations import server

from prep_iac import paths
from prep_iac.components import distro
from prep_iac.facts.dpkg import Conffile

NEUTRALISED = "/var/lib/prep-iac/neutralised"  # what a deploy moved out of the way, kept


def script(call: str) -> str:
    """The host-side helpers (templates/conffiles/prep-conffile.sh), then `call`."""
    with open(paths.template("conffiles", "prep-conffile.sh"), encoding="utf-8") as handle:
        text = handle.read().replace("__KEEP__", shlex.quote(NEUTRALISED))
    return f"{text}\n{call}\n"


def restored(path: str) -> None:
    """A conffile we never change: the package's own, whatever an earlier deploy wrote."""
    state = host.get_fact(Conffile, path=path)
    if state is not None and state["diverted_to"] is None and state["md5"] == state["shipped"]:
        return
    server.shell(name=f"{path}: the package's own file",
                 commands=[script(f"restore {shlex.quote(path)}")])


def diverted(path: str) -> str:
    """A conffile we replace (no drop-in exists): diverted, the package's kept beside it.
    Returns where dpkg puts the package's versions."""
    to = distro.for_host()["conffile_diverts"][path]
    state = host.get_fact(Conffile, path=path)
    if state is None or state["diverted_to"] != to:
        server.shell(name=f"{path}: diverted, the package's own to {to}",
                     commands=[script(f"divert {shlex.quote(path)} {shlex.quote(to)}")])
    return to
