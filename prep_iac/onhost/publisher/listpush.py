"""The public list on the Institute's web host (CONV-I.7, III.2): pushed by SFTP to the
chrooted account the website deploy makes (components/website.py), whenever what it says
changes. Each file goes up under a dot name and is renamed over the old one (the server's
posix-rename: atomic), logos first, the page last: a visitor never gets half a page, nor a
page naming a logo that is not there yet.
"""

from datetime import UTC, datetime
from pathlib import Path

import paramiko

from prep_iac import contract
from prep_iac.onhost.publisher import listpage, notify
from prep_iac.onhost.publisher.connect import PushError, connect, load_private_key, sftp

PUSHED = "lista-publica.sha256"  # in STATE_DIR: the digest of the list the web hosts serve


def _put(client: paramiko.SFTPClient, data: bytes, name: str) -> None:
    tmp = f".tmp-{name.replace('/', '-')}"
    with client.open(tmp, "wb") as f:
        f.write(data)
    client.chmod(tmp, 0o644)
    client.posix_rename(tmp, name)


def files_to_push(registry, ledger, now: datetime) -> list[tuple[str, bytes]]:
    """(path under the served folder, content), in the order they must land."""
    out = []
    if listpage.is_public(registry, now):
        for d in registry.difusores:
            href = listpage.logo_href(d)
            if href and href.startswith(contract.LIST_LOGOS + "/"):
                out.append((href, Path(d.logo).read_bytes()))
    texts = listpage.texts(registry, ledger, now)
    out.append((contract.LIST_JSON, texts[contract.LIST_JSON].encode()))
    out.append((contract.LIST_HTML, texts[contract.LIST_HTML].encode()))
    return out


def push_to(website, key, files: list[tuple[str, bytes]], timeout: float = 10.0) -> None:
    transport = connect(website, contract.LIST_USER, key, timeout=timeout)
    try:
        client = sftp(transport, timeout)
        if any(name.startswith(contract.LIST_LOGOS + "/") for name, _ in files):
            try:
                client.stat(contract.LIST_LOGOS)
            except FileNotFoundError:
                client.mkdir(contract.LIST_LOGOS, 0o755)
        for name, data in files:
            _put(client, data, name)
    except (OSError, paramiko.SSHException) as exc:
        raise PushError(f"SFTP to {website.address} failed: {exc or type(exc).__name__}") \
            from None
    finally:
        transport.close()


def publish_list(registry, ledger, now: datetime | None = None, timeout: float = 10.0) -> bool:
    """Push the public list to every web host when it changed since the last push that
    reached them all. True when something was pushed. A failure is one journal line and the
    next round tries again: the cuts never wait for the list."""
    if not registry.websites:
        return False
    now = now or datetime.now(UTC)
    state = Path(registry.state_dir) / PUSHED
    want = listpage.digest(registry, ledger, now)
    if state.is_file() and state.read_text().strip() == want:
        return False
    try:
        key = load_private_key(registry.sftp_identity)
        files = files_to_push(registry, ledger, now)
    except (PushError, OSError) as exc:
        notify.journal(f"public list not pushed: {exc}")
        return False
    failed = False
    for website in registry.websites:
        try:
            push_to(website, key, files, timeout)
            notify.journal(f"public list pushed to {website.name} ({website.public_url})")
        except PushError as exc:
            failed = True
            notify.journal(f"public list not pushed to {website.name}: {exc}")
    if not failed:
        listpage.write_atomic(state, want + "\n")
    return not failed
