"""Where each cut's time went on its way to the difusores: the handover to the publisher
(the drill's own copy), the publisher's start (its path unit, Python, signing), and the
pushes (SSH, SFTP, the activator's answer), from the publisher's journal lines
(contract.pushed_message). The observers' delays say how late a cut was; these say where."""

from __future__ import annotations

import re
import statistics

from prep_iac.contract import PUSHED_RE

_PUSHED = re.compile(PUSHED_RE)


def pushes(entries: list[dict]) -> dict[str, list[tuple[float, float]]]:
    """{cut id: [(when the push began, its seconds)]} from journal entries
    ({"at": wall seconds, "message": ...})."""
    found: dict[str, list[tuple[float, float]]] = {}
    for entry in entries:
        match = _PUSHED.match(entry["message"])
        if match:
            seconds = float(match["seconds"])
            found.setdefault(match["corte"], []).append((entry["at"] - seconds, seconds))
    return found


def stages(cut: dict, pushed: list[tuple[float, float]]) -> dict:
    """A cut's stages in seconds from its production: handed over, first push begun, and the
    pushes' median and longest. None for what no line showed."""
    begun = min((start for start, _ in pushed), default=None)
    spans = [seconds for _, seconds in pushed]
    return {"handed_over_s": cut.get("handed_over_s"),
            "first_push_s": round(begun - cut["produced_at"], 2) if begun is not None else None,
            "push_median_s": round(statistics.median(spans), 2) if spans else None,
            "push_max_s": max(spans, default=None)}
