"""`prep-iac memoria collect`: get each difusor node's logs and journal, bundle them.

The only part that talks to a server is a `Fetch` (one node: list + download the log files as
they are, and dump the journal): `sshfetch.ssh_fetch(inventory)` over SSH, or `copy_from(DIR)`
for files copied by hand (`--from DIR`, one sub-folder per node). Everything else — choosing
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
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from prep_iac.errors import PrepError
from prep_iac.memoria import bundle, incidents, parse

# Where the difusor keeps what we collect (contract with the web tier and the deploy).
REMOTE_LOG_DIR = "/var/log/nginx"
REMOTE_LOG_PREFIXES = ("prep.access.log", "prep.blocked.log")
# Journal identifiers the incidents come from (see incidents.RULES); reboots need all entries
# of the kernel/systemd too, so the dump is filtered by time only.
JOURNAL_FILE = "journal.json"


@dataclass(frozen=True)
class Node:
    name: str
    address: str
    port: int = 22
    user: str = ""
    key: str = ""


def nodes_from_inventory(path: Path) -> list[Node]:
    """The difusor nodes (both of an HA pair) of an inventory file."""
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise PrepError(f"cannot read inventory {path}: {exc}",
                        "give -i an inventory like inventories/example-difusor.yml") from exc
    nodes = []
    for name, d in (data.get("difusores") or {}).items():
        d = d or {}
        nodes.append(Node(name, str(d.get("address", "")), int(d.get("ssh_port", 22)),
                          str(d.get("ssh_user", "")), str(d.get("ssh_key", ""))))
    if not nodes:
        raise PrepError(f"inventory {path} has no difusores",
                        "list the difusor nodes under `difusores:`")
    return nodes


def inventory_limits(path: Path | None) -> dict:
    """Rate limits and link capacity declared in the inventory (for the suggestions)."""
    if path is None:
        return {}
    data = yaml.safe_load(path.read_text()) or {}
    out: dict = {}
    for d in (data.get("difusores") or {}).values():
        d = d or {}
        rl = d.get("rate_limits") or {}
        if rl.get("requests_per_s"):
            out["rate_limit_rps"] = rl["requests_per_s"]
        if d.get("link_mbps"):
            out["link_mbps"] = d["link_mbps"]
    return out


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
    for node in nodes:
        dest = out / node.name
        dest.mkdir(parents=True, exist_ok=True)
        fetch(node, dest, since, until)
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
