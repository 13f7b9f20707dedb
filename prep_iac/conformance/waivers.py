"""Waivers (dispensas): a requirement or check that may fail, with a reason, an owner and an
expiry date. Expired or unknown ids are errors; waived items stay visible in the report.

    waivers:
      - id: CONV-II.c.2               # a requirement, or a check id like hardware::memoria
        reason: a container has no redundant hardware
        owner: Operador del laboratorio
        expires: 2027-06-30
        hosts: [difusor-1]            # optional: only these hosts
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import yaml

from prep_iac.conformance.checkids import base_id
from prep_iac.errors import PrepError

_FIELDS = {"id", "reason", "owner", "expires", "hosts"}
FIX = "correct the waiver file (fields: id, reason, owner, expires YYYY-MM-DD, optional hosts)"


@dataclass(frozen=True)
class Waiver:
    id: str
    reason: str
    owner: str
    expires: dt.date
    hosts: tuple[str, ...] = ()

    def covers(self, check: str, requirements: list[str], host: str) -> bool:
        if self.hosts and host not in self.hosts:
            return False
        return self.id in requirements or self.id in (check, base_id(check))

    def to_json(self) -> dict:
        return {"id": self.id, "reason": self.reason, "owner": self.owner,
                "expires": self.expires.isoformat(), "hosts": list(self.hosts)}


def load_waivers(path: str | Path, known_ids: set[str], known_hosts: set[str] | None = None,
                 today: dt.date | None = None) -> list[Waiver]:
    """Every waiver of ``path``; PrepError listing every problem (all at once) otherwise."""
    path = Path(path)
    today = today or dt.date.today()
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PrepError(f"{path}: no such waiver file", "give the path of a waivers YAML file")
    except (OSError, yaml.YAMLError) as exc:
        raise PrepError(f"{path}: cannot read it: {exc}", FIX) from None
    entries = doc.get("waivers") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise PrepError(f"{path}: expected a mapping with a 'waivers' list", FIX)
    waivers, problems = [], []
    for n, entry in enumerate(entries, 1):
        label = f"waiver {n}"
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            label += f" ({entry['id']})"
        try:
            waivers.append(_parse(entry, known_ids, known_hosts, today))
        except (ValueError, TypeError) as exc:
            problems.append(f"{label}: {exc}")
    if problems:
        raise PrepError(f"{path}: {len(problems)} waiver problem(s):\n" +
                        "\n".join(f"  {p}" for p in problems), FIX)
    return waivers


def _parse(entry, known_ids, known_hosts, today) -> Waiver:
    if not isinstance(entry, dict):
        raise TypeError("each waiver is a mapping with id, reason, owner, expires")
    unknown = sorted(set(entry) - _FIELDS)
    if unknown:
        raise ValueError(f"unknown field {unknown[0]!r}")
    missing = [f for f in ("id", "reason", "owner", "expires") if not entry.get(f)]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    wid = str(entry["id"])
    if wid not in known_ids and base_id(wid) not in known_ids:
        raise ValueError(f"unknown id {wid!r}: not a requirement of the convocatoria nor a check")
    expires = entry["expires"]
    if isinstance(expires, str):
        try:
            expires = dt.date.fromisoformat(expires)
        except ValueError:
            raise ValueError(f"expires {expires!r} is not a date YYYY-MM-DD") from None
    if isinstance(expires, dt.datetime):
        expires = expires.date()
    if not isinstance(expires, dt.date):
        raise TypeError(f"expires {expires!r} is not a date YYYY-MM-DD")
    if expires < today:
        raise ValueError(f"expired on {expires.isoformat()}: renew it with a new reason, or fix "
                         "what it waives")
    hosts = entry.get("hosts") or []
    if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts):
        raise ValueError("hosts must be a list of host names")
    if known_hosts is not None:
        strangers = [h for h in hosts if h not in known_hosts]
        if strangers:
            raise ValueError(f"host {strangers[0]!r} is not in the inventory")
    return Waiver(wid, str(entry["reason"]).strip(), str(entry["owner"]).strip(), expires,
                  tuple(hosts))
