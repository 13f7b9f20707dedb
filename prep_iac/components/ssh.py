"""SSH hardening (CONV-IV.1): one sshd drop-in read before everything else, crypto chosen
by the installed OpenSSH version, weak host keys and moduli removed, validated before reload.
Publishers get exactly the same."""

from pyinfra import host, logger
from pyinfra.api import deploy
from pyinfra.api.exceptions import DeployError
from pyinfra.operations import files, server, systemd

from prep_iac.components import conffiles, converge, distro
from prep_iac.components.common import config, install_validated, refuse_lockout, render
from prep_iac.components.reader import DROP_IN as READER_DROPIN
from prep_iac.components.sftp_jail import DROP_IN_NAME as SFTP_DROPIN
from prep_iac.contract import ADMIN_GROUP, SSH_ALLOW_GROUPS
from prep_iac.facts.sshd import OpenSshVersion, SshHostKeys, SshSession, WeakModuli

DROPIN = "10-prep-hardening.conf"  # docs/contracts.md; sorts before the jail's 50-…
MIN_VERSION = (7, 4)
MIN_RSA_BITS = 3072
MIN_MODULI_BITS = 3072
# Our copy of Debian's moduli without the small groups (sshd's ModuliFile); the package's
# /etc/ssh/moduli stays as shipped. Older sshd (no ModuliFile here) get no group exchange.
MODULI = "/etc/ssh/prep-moduli"
MODULI_FILE_VERSION = (9, 0)


def crypto(version: tuple[int, int]) -> dict[str, list[str]]:
    """Key exchange, ciphers, MACs and key algorithms for an OpenSSH version: only what
    that version knows (an unknown name makes sshd refuse to start), strongest first."""
    if version < MIN_VERSION:
        raise ValueError(f"OpenSSH {version[0]}.{version[1]} is older than {MIN_VERSION[0]}."
                         f"{MIN_VERSION[1]}: upgrade the distribution")
    kex = []
    if version >= (9, 9):
        kex += ["mlkem768x25519-sha256"]  # post-quantum hybrid, default from 10.0
    if version >= (8, 5):
        kex += ["sntrup761x25519-sha512@openssh.com"]
    if version >= (9, 9):
        kex += ["sntrup761x25519-sha512"]
    kex += ["curve25519-sha256", "curve25519-sha256@libssh.org",
            "diffie-hellman-group18-sha512", "diffie-hellman-group16-sha512"]
    if version >= MODULI_FILE_VERSION:
        kex += ["diffie-hellman-group-exchange-sha256"]  # groups from MODULI, >= 3072 bits
    ciphers = ["chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com",
               "aes128-gcm@openssh.com", "aes256-ctr", "aes192-ctr", "aes128-ctr"]
    # Encrypt-then-MAC only: the plain hmac-sha2-* variants MAC the plaintext.
    macs = ["hmac-sha2-512-etm@openssh.com", "hmac-sha2-256-etm@openssh.com",
            "umac-128-etm@openssh.com"]
    host_keys = ["ssh-ed25519", "ssh-ed25519-cert-v01@openssh.com",
                 "rsa-sha2-512", "rsa-sha2-512-cert-v01@openssh.com",
                 "rsa-sha2-256", "rsa-sha2-256-cert-v01@openssh.com"]
    user_keys = ["ssh-ed25519", "ssh-ed25519-cert-v01@openssh.com"]
    if version >= (8, 2):  # FIDO keys (YubiKey…)
        user_keys += ["sk-ssh-ed25519@openssh.com", "sk-ssh-ed25519-cert-v01@openssh.com",
                      "sk-ecdsa-sha2-nistp256@openssh.com"]
    # Admins' hardware tokens (PIV) often hold ECDSA keys: accepted for users, not for hosts.
    user_keys += ["ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
                  "rsa-sha2-512", "rsa-sha2-256"]
    return {"kex": kex, "ciphers": ciphers, "macs": macs, "host_keys": host_keys,
            "user_keys": user_keys}


def pinned_key_type(host_key: str | None) -> str | None:
    """The key type of the inventory's pinned host key ("ED25519", "ECDSA", "RSA")."""
    if not host_key:
        return None
    algorithm = host_key.split()[0]
    for prefix, kind in (("ssh-ed25519", "ED25519"), ("ecdsa-", "ECDSA"), ("ssh-rsa", "RSA")):
        if algorithm.startswith(prefix):
            return kind
    return None


def host_key_plan(present: list[dict], pinned: str | None) -> dict:
    """Which host keys to keep, remove and regenerate. ECDSA (NIST curves) and DSA go,
    unless the inventory pins that very key (the publisher would refuse the host)."""
    keep, remove, regenerate = [], [], []
    for key in present:
        kind = key["type"]
        if kind == "DSA" or (kind == "ECDSA" and pinned != "ECDSA"):
            remove.append(key["path"])
        elif kind == "RSA" and key["bits"] < MIN_RSA_BITS and pinned != "RSA":
            regenerate.append(key["path"])
            keep.append(key["path"])
        elif kind in ("ED25519", "RSA", "ECDSA"):
            keep.append(key["path"])
    return {"keep": keep, "remove": remove, "regenerate": regenerate}


def dropin(version: tuple[int, int], host_keys: list[str]) -> str:
    return render("ssh", f"{DROPIN}.j2", c=crypto(version), host_keys=host_keys,
                  admin_group=ADMIN_GROUP, allow_groups=SSH_ALLOW_GROUPS,
                  moduli=MODULI if version >= MODULI_FILE_VERSION else None,
                  pubkey_keyword=("PubkeyAcceptedAlgorithms" if version >= (8, 5)
                                  else "PubkeyAcceptedKeyTypes"))


@deploy("ssh.hardened")
def hardened():
    refuse_lockout()
    cfg = config()
    d = distro.for_host()
    version = host.get_fact(OpenSshVersion)
    if version is None:
        raise DeployError(f"{host.name}: OpenSSH not found; cannot harden sshd")
    try:
        crypto(version)
    except ValueError as error:
        raise DeployError(f"{host.name}: {error}") from None

    plan = host_key_plan(host.get_fact(SshHostKeys), pinned_key_type(cfg.host.host_key))
    if not any(p.endswith(("_ed25519_key", "_rsa_key")) for p in plan["keep"]):
        raise DeployError(f"{host.name}: no ED25519 or RSA host key in /etc/ssh; "
                          "run `ssh-keygen -A` first")
    for path in plan["remove"]:
        files.file(name=f"remove weak host key {path}", path=path, present=False)
        files.file(name=f"remove weak host key {path}.pub", path=f"{path}.pub", present=False)
    for path in plan["regenerate"]:
        server.shell(name=f"regenerate {path} with 4096 bits", commands=[
            f"rm -f {path} {path}.pub && ssh-keygen -q -t rsa -b 4096 -N '' -f {path}"])

    conffiles.restored("/etc/ssh/moduli")
    if version >= MODULI_FILE_VERSION and host.get_fact(WeakModuli, bits=MIN_MODULI_BITS,
                                                          path=MODULI) != 0:
        server.shell(name=f"{MODULI}: Debian's moduli from {MIN_MODULI_BITS} bits up", commands=[
            (f"awk '$1 ~ /^#/ || $5 + 1 >= {MIN_MODULI_BITS}' /etc/ssh/moduli "
             f"> {MODULI}.prep-new && chmod 644 {MODULI}.prep-new && "
             f"mv -f {MODULI}.prep-new {MODULI}")])

    user = host.get_fact(SshSession, _sudo=False)["user"]
    # sshd -t checks syntax and values; the group check proves AllowGroups still lets the
    # admin running this deploy in (admins.accounts, earlier in the deploy, adds them).
    validate = (f"sshd -t && {{ id -nG {user} | tr ' ' '\\n' | grep -qx {ADMIN_GROUP} || "
                f"{{ echo '{user} is not in {ADMIN_GROUP}: AllowGroups would lock this "
                "session out'; false; }; }")
    ours = dropin(version, plan["keep"])
    # A foreign drop-in that sets one of our keywords would win (sshd keeps the first value).
    neutralised = converge.sshd(d["sshd_dropin_dir"], {DROPIN, SFTP_DROPIN, READER_DROPIN}, ours)
    op = install_validated("sshd hardening drop-in", {f"{d['sshd_dropin_dir']}/{DROPIN}": ours},
                           validate)
    if plan["remove"] or plan["regenerate"] or neutralised:
        systemd.service(name="reload sshd", service=d["ssh_service"], reloaded=True)
    elif op is not None:
        systemd.service(name="reload sshd", service=d["ssh_service"], reloaded=True,
                        _if=op.did_change)
    converge.sshd_check(ours, neutralised)
    logger.info(f"{host.name}: OpenSSH {version[0]}.{version[1]}, host keys "
                f"{', '.join(plan['keep'])}")
