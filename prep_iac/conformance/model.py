"""The results every check produces, inside (testinfra) and outside (audit) alike.

Statuses are the report's own words, so the JSON reads like the HTML:
``cumple``, ``no cumple``, ``no aplica``, ``manual``, ``pendiente`` (a deadline of the call
that has not come yet, its evidence still missing: deadlines.py), and ``dispensado`` once a
waiver applies.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

CUMPLE = "cumple"
NO_CUMPLE = "no cumple"
NO_APLICA = "no aplica"
MANUAL = "manual"
DISPENSADO = "dispensado"
PENDIENTE = "pendiente"
STATUSES = (CUMPLE, NO_CUMPLE, NO_APLICA, MANUAL, PENDIENTE, DISPENSADO)

# Worst first: one failing check makes the whole requirement fail on that host; a waived
# failure still reads "dispensado" beside checks that pass, so the waiver stays visible.
SEVERITY = {NO_CUMPLE: 0, MANUAL: 1, PENDIENTE: 2, DISPENSADO: 3, CUMPLE: 4, NO_APLICA: 5}

MAX_OUTPUT = 2000  # characters kept of a command's output: enough to read, not a log dump


def clip(text: str, limit: int = MAX_OUTPUT) -> str:
    text = text or ""
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n… ({len(text) - limit} caracteres más)"


@dataclass
class Command:
    """One piece of evidence: what was run (or requested) and what it returned."""

    command: str
    rc: int | None = None
    output: str = ""

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class CheckResult:
    check: str  # stable check id, e.g. "hardware::memoria"
    requirements: list[str]
    host: str  # inventory host name, or the audited URL's host
    status: str
    title: str = ""
    detail: str = ""  # why: the failure, the "no aplica" reason, the evidence asked
    evidence: list[Command] = field(default_factory=list)
    devsec: str | None = None
    cis: str | None = None
    seconds: float = 0.0
    waiver: dict | None = None  # the waiver that turned a failure into "dispensado"

    def to_json(self) -> dict:
        data = asdict(self)
        data["evidence"] = [c.to_json() for c in self.evidence]
        return data

    @classmethod
    def from_json(cls, data: dict) -> CheckResult:
        data = dict(data)
        data["evidence"] = [Command(**c) for c in data.get("evidence", [])]
        return cls(**data)


def worst(statuses) -> str | None:
    statuses = list(statuses)
    return min(statuses, key=SEVERITY.__getitem__) if statuses else None
