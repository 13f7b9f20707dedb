"""The Institute's web host: serves the public list of difusores the publisher pushes
(CONV-I.7; a suspension removes a link, CONV-III.2).

The web host is the Institute's own server, so this deploy adds only what the list needs and
touches nothing else: an SFTP-only account for the publishers, chrooted in a root-owned
folder, writing only the served folder, keys only (the IEC's SFTP keys the publishers hold,
in a root-owned file), only from the publishers' addresses; and one nginx site serving that
folder at the path of `public_url`. SFTP (not rsync over a forced command): the publisher
already speaks it (paramiko) and its posix-rename makes each file's replacement atomic; sshd's
internal-sftp needs nothing installed in the chroot.
"""

from io import StringIO
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from pyinfra.api import deploy
from pyinfra.operations import apt, files, server, systemd
from pyinfra.operations.util import any_changed

from prep_iac import contract, paths
from prep_iac.components.common import config, install_validated, render
from prep_iac.components.sftp_jail import APPLY, authorized_keys

USER = contract.LIST_USER
JAIL = contract.LIST_JAIL
SERVED = f"{JAIL}/{contract.LIST_PUBLIC}"
KEYS_DIR = f"/etc/ssh/{USER}-keys"
DROP_IN_NAME = f"50-{USER}.conf"
DROP_IN = f"/etc/ssh/sshd_config.d/{DROP_IN_NAME}"
STAGED = f"/etc/prep-iac/staged/{DROP_IN_NAME}"
SITE = f"/etc/nginx/conf.d/{USER}.conf"  # Debian's nginx.conf includes conf.d/*.conf


def served_path(public_url: str) -> str:
    """The path part of the list's URL, where nginx serves it (schema.Website checks it)."""
    path = urlsplit(public_url).path or "/"
    return path if path.endswith("/") else path + "/"


def site(cfg) -> str:
    return render("website", "prep-lista.nginx.j2", server_names=cfg.host.server_names,
                  path=served_path(cfg.host.public_url), served=SERVED, index=contract.LIST_HTML)


def drop_in(cfg) -> str:
    return render("website", f"{DROP_IN_NAME}.j2", user=USER, jail=JAIL,
                  public=contract.LIST_PUBLIC, keys_dir=KEYS_DIR,
                  publishers=sorted(p.address for p in cfg.inventory.publishers.values()))


@deploy("website: the publisher's SFTP account and the nginx site of the public list")
def list_site():
    cfg = config()
    apt.packages(name="nginx and sshd", packages=["nginx", "openssh-server"], update=True,
                 cache_time=3600)

    server.group(name=f"group {USER}", group=USER, system=True)
    server.user(name=f"SFTP-only account {USER}", user=USER, group=USER, system=True,
                home=JAIL, create_home=False, ensure_home=False, shell="/usr/sbin/nologin")
    # sshd demands every component of ChrootDirectory be root-owned and not writable by others.
    for path in [*map(str, reversed(PurePosixPath(JAIL).parents[:-1])), JAIL]:
        files.directory(name=f"root-owned {path}", path=path, user="root", group="root",
                        mode="755")
    for path in (SERVED, f"{SERVED}/{contract.LIST_LOGOS}"):
        files.directory(name=f"{path}: written by the publisher, read by nginx", path=path,
                        user=USER, group=USER, mode="755")

    files.directory(name="account keys folder", path=KEYS_DIR, user="root", group="root",
                    mode="755")
    files.put(name=f"the IEC's SFTP keys for {USER}",
              src=StringIO(authorized_keys(cfg.iec.sftp_keys)), dest=f"{KEYS_DIR}/{USER}",
              user="root", group="root", mode="644")
    apply = files.put(name="prep-sshd-apply", src=paths.template("sftp", "prep-sshd-apply.sh"),
                      dest=APPLY, user="root", group="root", mode="755")
    staged = files.put(name="stage the account's sshd drop-in", src=StringIO(drop_in(cfg)),
                       dest=STAGED, create_remote_dir=True, user="root", group="root",
                       mode="600")
    server.shell(name="sshd -t, then put the drop-in live and reload",
                 commands=[f"{APPLY} {STAGED} {DROP_IN}"], _if=any_changed(staged, apply))

    systemd.service(name="nginx enabled and running", service="nginx", running=True,
                    enabled=True)
    installed = install_validated("nginx site of the list", {SITE: site(cfg)}, "nginx -t")
    if installed is not None:
        systemd.service(name="nginx reloads the list's site", service="nginx", reloaded=True,
                        _if=installed.did_change)
