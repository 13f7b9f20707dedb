"""`prep-iac memoria collect`: get each difusor node's logs and journal, bundle them.

The only part that talks to a server is a `Fetch` (one node: list + download the log files as
they are, and dump the journal): `sshfetch.ssh_fetch(inventory)` over SSH, or `copy_from(DIR)`
for files copied by hand (`--bitacoras DIR`, one sub-folder per node). Everything else — choosing
the days, the bundle, the incidents — works on the local copy, the same either way.

Layout written in OUT (and read as it is by `prep-iac memoria report --logs OUT`):

    OUT/<node>/prep.access.log[.N[.gz]]   the access logs, as found
    OUT/<node>/prep.blocked.log[...]      the web-attack filter's log, if any
    OUT/<node>/journal.json               `journalctl -o json` of the period
    OUT/bitacoras.tar.gz                  the logs of the requested days, with SHA256SUMS inside
    OUT/SHA256SUMS, OUT/bitacoras.tar.gz.sha256
    OUT/incidentes.json                   incidents found in the journals
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from prep_iac import contract
from prep_iac.errors import PrepError
from prep_iac.inventory import Inventory, load_inventory
from prep_iac.memoria import bundle, incidents, parse

# Where the difusor keeps what we collect (contract with the web tier and the deploy).
REMOTE_LOG_DIR = "/var/log/nginx"
REMOTE_LOG_PREFIXES = tuple(os.path.basename(p) for p in (contract.ACCESS_LOG, contract.BLOCKED_LOG))
# Journal identifiers the incidents come from (see incidents.RULES); reboots need all entries
# of the kernel/systemd too, so the dump is filtered by time only.
JOURNAL_FILE = "journal.json"
# Nodes fetched at once: one after the other, 50 lab difusores took minutes; more at once
# only queue on the controller's cores and the nodes' links.
FETCH_PARALLEL = 8


@dataclass(frozen=True)
class Node:
    name: str
    address: str
    port: int = 22
    user: str = ""
    key: str = ""


def nodes_from_inventory(inventory: Path | Inventory) -> list[Node]:
    """The difusor nodes (both of an HA pair) of an inventory, with the schema's defaults
    (ssh_port 22, ssh_user the first admin account, ssh_key resolved beside the file)."""
    inv = _load(inventory)
    nodes = [Node(name, d.address, d.ssh_port, inv.ssh_user(name), d.ssh_key or "")
             for name, d in inv.difusores.items()]
    if not nodes:
        where = "" if isinstance(inventory, Inventory) else f" {inventory}"
        raise PrepError(f"the inventory{where} has no difusores",
                        "list the difusor nodes under `difusores:`")
    return nodes


def inventory_limits(inventory: Path | Inventory | None) -> dict:
    """The per-address rate limit and the link capacity of the inventory's difusores (for the
    suggestions), the schema's defaults included; the smallest when the nodes differ."""
    if inventory is None:
        return {}
    difusores = list(_load(inventory).difusores.values())
    if not difusores:
        return {}
    return {"rate_limit_rps": min(d.rate_limits.requests_per_s for d in difusores),
            "link_mbps": min(d.link_mbps for d in difusores)}


def _load(inventory: Path | Inventory) -> Inventory:
    return inventory if isinstance(inventory, Inventory) else load_inventory(inventory)


# (node, destination folder, since, until) -> None. Must leave in dest the files of
# REMOTE_LOG_DIR whose names start with REMOTE_LOG_PREFIXES, byte for byte, and
# dest/JOURNAL_FILE with the output of `journalctl -o json --since=... --until=...`.
Fetch = Callable[[Node, Path, datetime, datetime], None]


def copy_from(source: Path) -> Fetch:
    """A Fetch that copies from SOURCE/<node>/ (files copied by hand), byte for byte."""

    def fetch(node: Node, dest: Path, since: datetime, until: datetime) -> None:
        src = source / node.name
        if not src.is_dir():
            raise PrepError(f"no folder {src} for node {node.name}",
                            f"put that node's logs and {JOURNAL_FILE} in {src}")
        for p in sorted(src.iterdir()):
            if p.is_file() and (p.name.startswith(REMOTE_LOG_PREFIXES) or p.name == JOURNAL_FILE):
                shutil.copy2(p, dest / p.name)

    return fetch


def nodes_from_folder(source: Path) -> list[Node]:
    nodes = [Node(p.name, "") for p in sorted(source.iterdir()) if p.is_dir()] \
        if source.is_dir() else []
    if not nodes:
        raise PrepError(f"{source} has no node folders",
                        "put each node's files in FOLDER/<node>/")
    return nodes


def collect(nodes: list[Node], out: Path, since: datetime, until: datetime,
            fetch: Fetch, tz: ZoneInfo | None = None) -> dict:
    """Fetch every node into OUT/<node>/, bundle the logs of [since, until), scan incidents."""
    out.mkdir(parents=True, exist_ok=True)

    def one(node: Node) -> None:
        dest = out / node.name
        dest.mkdir(parents=True, exist_ok=True)
        fetch(node, dest, since, until)

    with ThreadPoolExecutor(max_workers=max(1, min(FETCH_PARALLEL, len(nodes)))) as pool:
        list(pool.map(one, nodes))  # the first node that failed raises its own message
    logs = [p for node in nodes for p in parse.log_files(out / node.name)]
    chosen = bundle.select_logs(logs, since.timestamp(), until.timestamp())
    if not chosen:
        raise PrepError(f"no access log of {', '.join(n.name for n in nodes)} covers "
                        f"{since.isoformat()} – {until.isoformat()}",
                        "check --desde/--hasta and that logrotate kept those days")
    sums = bundle.write_bundle(chosen, out, out / "bitacoras.tar.gz")
    scan = incidents.scan_files(incidents.journal_files(out))
    tz = tz or ZoneInfo("America/Monterrey")
    summary = {
        "desde": since.isoformat(), "hasta": until.isoformat(),
        "nodos": [n.name for n in nodes], "archivos": sums,
        "entradas_journal": scan.entries, "entradas_journal_invalidas": scan.malformed,
        "incidentes": [i.to_json(tz) for i in scan.incidents],
    }
    (out / "incidentes.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    return summary
