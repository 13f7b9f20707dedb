"""An Institute publisher host (CONV-III.1, III.2): prep-iac's push engine as a service.

prep-iac goes on as a wheel built on the controller into a venv that uses Debian's own
python3-paramiko and python3-jinja2 (the host needs no other package index); the IEC's keys
are readable by the service account alone; the registry of difusores (with their pinned host
keys) is written from the inventory; a timer publishes every period and a path unit at once
when a cut lands in the drop folder.
"""

import hashlib
import tempfile
from io import StringIO
from pathlib import Path

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.facts.files import File
from pyinfra.operations import apt, files, pip, server

from prep_iac import contract
from prep_iac.components.common import config, install_units
from prep_iac.publish import wheel
from prep_iac.publish.registry import from_inventory, installed_logos

USER = contract.PUBLISHER_USER
BASE = contract.PUBLISHER_HOME
VENV = contract.PUBLISHER_VENV
ETC = contract.PUBLISHER_ETC
KEYS = f"{ETC}/keys"
REGISTRY = contract.PUBLISHER_REGISTRY
UNITS = ("prep-publisher.service", "prep-publisher.timer", "prep-publisher.path")
DEBIAN_PACKAGES = ["python3", "python3-venv", "python3-paramiko", "python3-jinja2",
                   "python3-click", "python3-rich", "openssh-client"]

_wheel_dir = None


def built_wheel() -> Path:
    """Built once per deploy run, whatever the number of publishers."""
    global _wheel_dir
    if _wheel_dir is None:
        _wheel_dir = tempfile.mkdtemp(prefix="prep-wheel-")
    return wheel.build(Path(_wheel_dir))


@deploy("publisher: registry of difusores")
def registry():
    """What each run reads afresh: the difusores, their pinned host keys, and the calendar's
    PREP times it stamps each cut with (so deploys/calendar.py writes it too)."""
    cfg = config()
    text = from_inventory(cfg.inventory, cfg.name, sftp_identity=f"{KEYS}/iec_sftp",
                          signing_key=f"{KEYS}/iec_firma",
                          logos_dir=contract.PUBLISHER_LOGOS).dumps()
    files.put(name="registry of difusores and their pinned host keys", src=StringIO(text),
              dest=REGISTRY, user="root", group=USER, mode="640")


@deploy("publisher: push engine, ledger and public list as a service")
def service():
    cfg = config()
    pub = cfg.host
    period = cfg.iec.period_s

    apt.packages(name="Python and libraries from Debian", packages=DEBIAN_PACKAGES,
                 update=True, cache_time=3600)
    server.group(name=f"group {USER}", group=USER, system=True)
    server.user(name=f"service account {USER}", user=USER, group=USER, system=True,
                home=pub.state_dir, create_home=False, ensure_home=False,
                shell="/usr/sbin/nologin")

    for path, owner, mode in ((BASE, "root", "755"), (f"{BASE}/dist", "root", "755"),
                              (ETC, "root", "755"), (KEYS, USER, "700"),
                              (pub.state_dir, USER, "750"), (pub.drop_dir, USER, "755")):
        files.directory(name=f"directory {path}", path=path, user=owner, group=owner, mode=mode)

    # The venv sees Debian's site-packages: paramiko and jinja2 come from there.
    pip.venv(name="venv for prep-iac", path=VENV, python="python3", site_packages=True)
    whl = built_wheel()
    digest = hashlib.sha256(whl.read_bytes()).hexdigest()[:16]
    files.put(name="prep-iac wheel", src=str(whl), dest=f"{BASE}/dist/{whl.name}",
              user="root", group="root", mode="644")
    marker = f"{BASE}/installed-{digest}"
    if not host.get_fact(File, path=marker):  # this very wheel is not installed yet
        server.shell(name="install prep-iac into the venv (no dependencies from any index)",
                     commands=[(f"{VENV}/bin/python -m pip install --quiet --no-deps --no-index "
                                f"--force-reinstall {BASE}/dist/{whl.name}"),
                               f"rm -f {BASE}/installed-* && touch {marker}"])

    files.put(name="the IEC's SFTP key (service account only)",
                         src=pub.sftp_identity, dest=f"{KEYS}/iec_sftp", user=USER, group=USER,
                         mode="600")
    files.put(name="the IEC's signing key (service account only)",
                        src=pub.signing_key, dest=f"{KEYS}/iec_firma", user=USER, group=USER,
                        mode="600")
    # The difusores' logo files, pushed with the public list to the Institute's web host.
    logos = installed_logos(cfg.inventory, contract.PUBLISHER_LOGOS)
    files.directory(name=f"directory {contract.PUBLISHER_LOGOS}", path=contract.PUBLISHER_LOGOS,
                    user="root", group="root", mode="755")
    for here, there in logos.values():
        files.put(name=f"logo {there}", src=here, dest=there, user="root", group="root",
                  mode="644")
    registry()

    install_units("publisher", {u: f"{u}.j2" for u in UNITS},
                  ["prep-publisher.timer", "prep-publisher.path"],
                  service_user=USER, venv=VENV, registry=REGISTRY, period_s=period,
                  state_dir=pub.state_dir, drop_dir=pub.drop_dir)
    # Keys and registry are read afresh by each run of the oneshot service: no restart.
