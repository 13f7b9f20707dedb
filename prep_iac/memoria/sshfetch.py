"""Fetch one difusor node's logs and journal over SSH, as the inventory's admin (sudo).

The access logs travel as a tar stream of the files exactly as found (rotated and
compressed ones included); the journal of the period is dumped with `journalctl -o json`.
Host keys are the inventory's pins: a changed key stops the fetch.
"""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
import tempfile
from datetime import datetime
from pathlib import Path

from prep_iac.errors import PrepError
from prep_iac.inventory import load_inventory
from prep_iac.memoria.collect import JOURNAL_FILE, REMOTE_LOG_DIR, REMOTE_LOG_PREFIXES, Fetch, Node

TIMEOUT_S = 300


def ssh_fetch(inventory_path: Path) -> Fetch:
    from prep_iac.conformance.sshconfig import write_ssh_config

    inventory = load_inventory(inventory_path)
    config = Path(tempfile.mkdtemp(prefix="prep-memoria-")) / "ssh_config"
    write_ssh_config(inventory, inventory_path, config)

    def fetch(node: Node, dest: Path, since: datetime, until: datetime) -> None:
        patterns = " ".join(f"{p}*" for p in REMOTE_LOG_PREFIXES)
        logs = _ssh(config, node, f"cd {REMOTE_LOG_DIR} && sudo tar -cf - $(ls -d {patterns} "
                                  "2>/dev/null)")
        _untar(logs, dest, node)
        journal = _ssh(config, node, f"sudo journalctl -o json --no-pager "
                                     f"--since @{int(since.timestamp())} "
                                     f"--until @{int(until.timestamp())}")
        (dest / JOURNAL_FILE).write_bytes(journal)

    return fetch


def _ssh(config: Path, node: Node, command: str) -> bytes:
    try:
        proc = subprocess.run(["ssh", "-F", str(config), node.address, command],
                              capture_output=True, timeout=TIMEOUT_S, check=False,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise PrepError(f"{node.name} ({node.address}) did not answer in {TIMEOUT_S} s",
                        "check the host is up and reachable, then collect again") from None
    if proc.returncode:
        raise PrepError(f"fetching from {node.name} ({node.address}) failed: "
                        f"{proc.stderr.decode(errors='replace').strip()[-400:]}",
                        "check that the inventory's admin can log in and use sudo there")
    return proc.stdout


def _untar(data: bytes, dest: Path, node: Node) -> None:
    """Only plain files named like our logs, each written as it came."""
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for member in tar.getmembers():
            name = Path(member.name).name
            if not member.isfile() or not name.startswith(REMOTE_LOG_PREFIXES):
                continue
            source = tar.extractfile(member)
            if source is None:
                continue
            target = dest / name
            target.write_bytes(source.read())
            os.utime(target, (member.mtime, member.mtime))
    if not any(dest.iterdir()):
        raise PrepError(f"{node.name} has no access logs in {REMOTE_LOG_DIR}",
                        "is the difusor deployed (prep-iac deploy difusor)?")
