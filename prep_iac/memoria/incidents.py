"""Incidents from the difusor's journal (`journalctl -o json` lines) and from the access log.

Matching is one table, RULES: a journal entry whose SYSLOG_IDENTIFIER matches `ident` and whose
MESSAGE matches `message` is a start, an end or a single event of an incident kind. The
identifiers and the messages of our own programs (activator, watchdog, UPS notify script) come
from prep_iac.contract, which their writers import too; the others (fail2ban, NUT's upsmon and
upssched) are written here (see docs/memoria.md).
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from prep_iac import contract
from prep_iac.memoria.logformat import BUCKET_S


@dataclass(frozen=True)
class Rule:
    kind: str  # incident kind (see KINDS)
    ident: str  # regex on SYSLOG_IDENTIFIER
    message: str  # regex on MESSAGE; named groups become the incident's details
    action: str  # "start" | "end" | "event"
    key: str = ""  # named group that pairs a start with its end (e.g. the banned address)


def _ident(*names: str) -> str:
    """A regex that matches exactly one of these SYSLOG_IDENTIFIERs."""
    return r"\A(" + "|".join(re.escape(n) for n in names) + r")\Z"


# The kind of a notice incident is the watchdog's state: contract.NOTICE ("aviso").
NOTICE = contract.NOTICE
_UPS = _ident("upsmon", "upssched", contract.JOURNAL_UPS)

RULES: tuple[Rule, ...] = (
    Rule(NOTICE, _ident(contract.JOURNAL_WATCHDOG), contract.NOTICE_ON_RE, "start"),
    Rule(NOTICE, _ident(contract.JOURNAL_WATCHDOG), contract.NOTICE_OFF_RE, "end"),
    Rule("corte", _ident(contract.JOURNAL_ACTIVATOR), contract.ACTIVATED_RE, "event"),
    Rule("corte_rechazado", _ident(contract.JOURNAL_ACTIVATOR), contract.REFUSED_RE, "event"),
    Rule("ban", r"^fail2ban", r"\[(?P<jail>[^\]]+)\]\s+Ban\s+(?P<addr>\S+)", "start", "addr"),
    Rule("ban", r"^fail2ban", r"\[(?P<jail>[^\]]+)\]\s+Unban\s+(?P<addr>\S+)", "end", "addr"),
    Rule("bateria", _UPS, r"\bONBATT\b|on battery", "start"),
    Rule("bateria", _UPS, r"\bONLINE\b|on line power", "end"),
    Rule("bateria_baja", _UPS, r"\bLOWBATT\b|battery is low", "event"),
    Rule("apagado", _UPS, r"\bSHUTDOWN\b|shutdown", "event"),
)

# Spanish label, whether it affects publication, and the effect shown in the report.
KINDS: dict[str, tuple[str, bool, str]] = {
    NOTICE: ("Aviso de actualización interrumpida", True,
             "Se mostró el aviso: publicación interrumpida (sin cortes nuevos)"),
    "corte_rechazado": ("Corte rechazado", True,
                        "El corte no se publicó; permaneció el corte anterior"),
    "reinicio": ("Reinicio del servidor", True,
                 "Nodo fuera de servicio durante el reinicio (en un par HA atiende el otro nodo)"),
    "apagado": ("Apagado por UPS", True, "Nodo apagado por batería agotada"),
    "bateria": ("UPS en batería", False, "Sin efecto mientras la batería duró"),
    "bateria_baja": ("Batería baja", True, "Apagado inminente del nodo"),
    "errores_5xx": ("Ráfaga de errores 5xx", True, "Parte de las consultas falló"),
    "ban": ("Bloqueo fail2ban", False, "Solo la dirección bloqueada dejó de recibir respuesta"),
    "corte": ("Corte activado", False, "Publicación normal"),
}


@dataclass
class Incident:
    kind: str
    start: float | None  # UTC epoch seconds
    end: float | None
    host: str = ""
    cause: str = ""
    details: dict = field(default_factory=dict)

    @property
    def duration(self) -> float | None:
        if self.start is None or self.end is None:
            return None
        return self.end - self.start

    @property
    def affects_publication(self) -> bool:
        return KINDS.get(self.kind, ("", False, ""))[1]

    @property
    def effect(self) -> str:
        return KINDS.get(self.kind, ("", False, ""))[2]

    def to_json(self, tz: ZoneInfo) -> dict:
        def iso(t):
            return datetime.fromtimestamp(t, tz).isoformat() if t is not None else None

        d = asdict(self)
        d.update(start=iso(self.start), end=iso(self.end), duration_s=self.duration,
                 label=KINDS.get(self.kind, (self.kind,))[0], effect=self.effect,
                 affects_publication=self.affects_publication)
        return d


@dataclass
class JournalScan:
    incidents: list[Incident]
    cuts: list[tuple[float, str]]  # (epoch, cut id) of activated cuts
    entries: int = 0
    malformed: int = 0


def _message(entry: dict) -> str:
    msg = entry.get("MESSAGE", "")
    if isinstance(msg, list):  # journalctl -o json writes non-UTF-8 messages as byte arrays
        msg = bytes(x & 0xFF for x in msg).decode("utf-8", "replace")
    return str(msg)


def read_journal(lines, host: str = "") -> tuple[list[dict], int]:
    """Entries of `journalctl -o json` output (one JSON object a line); bad lines counted."""
    entries, bad = [], 0
    for line in lines:
        line = line.strip()
        if not line:
            continue
        try:
            e = json.loads(line)
            e["_t"] = int(e["__REALTIME_TIMESTAMP"]) / 1e6
        except (ValueError, KeyError, TypeError):
            bad += 1
            continue
        e.setdefault("_HOSTNAME", host)
        entries.append(e)
    return entries, bad


def scan(entries: list[dict], rules: tuple[Rule, ...] = RULES) -> JournalScan:
    """Turn journal entries (any hosts, any order) into incidents and activated cuts."""
    compiled = [(r, re.compile(r.ident), re.compile(r.message)) for r in rules]
    entries = sorted(entries, key=lambda e: e["_t"])
    open_: dict[tuple, Incident] = {}
    incidents: list[Incident] = []
    cuts: list[tuple[float, str]] = []
    last_boot: dict[str, tuple[str, float]] = {}
    for e in entries:
        host, t = e.get("_HOSTNAME", ""), e["_t"]
        boot = e.get("_BOOT_ID")
        if boot:
            prev = last_boot.get(host)
            if prev and prev[0] != boot:
                # A new boot id: the node was down from its last entry to this first one.
                incidents.append(Incident("reinicio", prev[1], t, host,
                                          "Nuevo arranque (cambio de _BOOT_ID)"))
            last_boot[host] = (boot, t)
        ident = str(e.get("SYSLOG_IDENTIFIER", ""))
        msg = _message(e)
        for rule, ident_re, msg_re in compiled:
            if not ident_re.search(ident):
                continue
            m = msg_re.search(msg)
            if not m:
                continue
            details = {k: v for k, v in m.groupdict().items() if v}
            key = (host, rule.kind, details.get(rule.key, "") if rule.key else "")
            if rule.action == "start":
                if key not in open_:  # a repeated ON keeps the first start
                    open_[key] = Incident(rule.kind, t, None, host, msg, details)
            elif rule.action == "end":
                inc = open_.pop(key, None)
                if inc is None:  # the start is older than the logs we have
                    inc = Incident(rule.kind, None, t, host, msg, details)
                inc.end = t
                inc.details.setdefault("end_message", msg)
                incidents.append(inc)
            else:
                if rule.kind == "corte":
                    cuts.append((t, details.get("cut", "")))
                incidents.append(Incident(rule.kind, t, t, host, msg, details))
            break
    incidents.extend(open_.values())  # still open when the logs end
    incidents.sort(key=lambda i: (i.start if i.start is not None else i.end or 0))
    return JournalScan(incidents=incidents, cuts=cuts, entries=len(entries))


def journal_files(root: Path) -> list[Path]:
    """Journal dumps under root: journal*.json / journal*.jsonl (optionally .gz)."""
    if root.is_file():
        return [root] if root.name.startswith("journal") else []
    return sorted(p for p in root.rglob("journal*") if p.is_file()
                  and re.search(r"\.jsonl?(\.gz)?$", p.name))


def scan_files(paths: list[Path]) -> JournalScan:
    entries, bad = [], 0
    for p in paths:
        opener = gzip.open if p.name.endswith(".gz") else open
        # A collected bundle stores each node's dump under a folder named after the node.
        with opener(p, "rt", encoding="utf-8", errors="replace") as f:
            got, b = read_journal(f, host=p.parent.name)
        entries += got
        bad += b
    result = scan(entries)
    result.malformed = bad
    return result


def server_error_bursts(per_10min: list[dict], tz: ZoneInfo, min_errors: int = 10,
                        min_share: float = 0.01) -> list[Incident]:
    """5xx bursts from the access log: consecutive 10-minute buckets with at least
    `min_errors` 5xx responses and at least `min_share` of the hits."""
    out: list[Incident] = []
    for row in per_10min:
        start = datetime.fromisoformat(row["start"]).timestamp()
        bad = row["s5xx"] >= min_errors and row["s5xx"] >= min_share * max(row["hits"], 1)
        if not bad:
            continue
        if out and out[-1].end == start:
            inc = out[-1]
            inc.end = start + BUCKET_S
            inc.details["errores"] += row["s5xx"]
            inc.details["hits"] += row["hits"]
        else:
            inc = Incident("errores_5xx", start, start + BUCKET_S, "", "",
                           {"errores": row["s5xx"], "hits": row["hits"]})
            out.append(inc)
        share = 100 * inc.details["errores"] / max(inc.details["hits"], 1)
        inc.cause = f"{inc.details['errores']} respuestas 5xx ({share:.1f} % de los hits)"
    return out


def cut_time(cut_id: str, tz: ZoneInfo) -> float | None:
    """20210606_2000_PREP_AYUN_COAH -> epoch of 2021-06-06 20:00 in the IEC's zone.

    contract.parse_cut_id reads the id; None when the id names no time.
    """
    local = contract.parse_cut_id(cut_id.strip())
    return local.replace(tzinfo=tz).timestamp() if local else None
