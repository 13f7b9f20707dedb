"""The host programs on a difusor: prep_iac/contract.py and prep_iac/onhost/ copied under
/usr/local/lib/prep-iac, and a launcher on root's PATH for each program.

The activator and the watchdog import the same contract the controller deploys with, so a
path or a rule cannot differ between the two sides. Debian's python3 alone runs them.
"""

from io import StringIO

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.facts.files import Link
from pyinfra.operations import apt, files

from prep_iac import contract
from prep_iac.paths import PACKAGE_DIR

SBIN = "/usr/local/sbin"
PROGRAMS = {"prep-activator": "prep_iac.onhost.activator",
            "prep-watchdog": "prep_iac.onhost.watchdog",
            "prep-acme-issue": "prep_iac.onhost.acme"}
# Before the host programs became a package, the activator was one file linked from SBIN.
OLD_ACTIVATOR = f"{contract.ONHOST_LIB}/prep-activator"


def library_files() -> list[str]:
    """Package-relative paths of what a difusor runs: the contract and onhost's modules
    (the publisher's engine under onhost/publisher/ stays off difusores)."""
    onhost = sorted(p.relative_to(PACKAGE_DIR).as_posix()
                    for p in (PACKAGE_DIR / "onhost").glob("*.py"))
    return ["__init__.py", "contract.py", *onhost]


def launcher(module: str) -> str:
    # -I: no user site, no PYTHON* variables, no current folder on the path (it runs as root);
    # -B: no bytecode written into the library.
    return ("#!/usr/bin/python3 -IB\n"
            "# Managed by prep-iac: runs the host program from its library.\n"
            "import sys\n"
            f"sys.path.insert(0, {contract.ONHOST_LIB!r})\n"
            f"from {module} import main\n"
            "sys.exit(main(sys.argv[1:]))\n")


@deploy("host programs: the contract and prep_iac/onhost")
def programs():
    """Returns the operations that write the library and launchers: a resident program
    (the watchdog) restarts when one changed."""
    apt.packages(name="python3 and ssh-keygen", packages=["python3", "openssh-client"],
                 update=True, cache_time=3600)
    lib = f"{contract.ONHOST_LIB}/prep_iac"
    for path in (contract.ONHOST_LIB, lib, f"{lib}/onhost"):
        files.directory(name=f"directory {path}", path=path, user="root", group="root",
                        mode="755")
    written = []
    for rel in library_files():
        written.append(files.put(name=f"prep_iac/{rel}", src=str(PACKAGE_DIR / rel),
                                 dest=f"{lib}/{rel}", user="root", group="root", mode="644"))
    files.file(name="the activator of older releases is gone", path=OLD_ACTIVATOR,
               present=False)
    for name, module in PROGRAMS.items():
        path = f"{SBIN}/{name}"
        if host.get_fact(Link, path=path):  # an older release's link to its single file
            files.link(name=f"old link {path} removed", path=path, present=False)
        written.append(files.put(name=f"launcher {path}", src=StringIO(launcher(module)),
                                 dest=path, user="root", group="root", mode="755"))
    return written
