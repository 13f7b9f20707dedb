"""Arithmetic the size benchmarks share (night.py, deploy.py): missed deliveries of a
drill, time and controller CPU per host against the smallest size of the same run."""

from __future__ import annotations

import resource


def missed_deliveries(cuts: list[dict]) -> list[str]:
    """`cut difusor` for every good cut a difusor was never seen serving (simulacro.json's
    cuts: `delays` maps each difusor to seconds, or None when the observer never saw it)."""
    return [f"{cut['id']} {name}" for cut in cuts if not cut.get("corrupt")
            for name, delay in sorted(cut["delays"].items()) if delay is None]


def children_cpu_s() -> float:
    """User + system CPU seconds of this process's finished children (and theirs): the
    controller's own work of a run made by subprocesses, e.g. pyinfra."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def per_host(rows: dict[int, float]) -> dict[int, dict]:
    """Seconds per host at each size, and each size's against the smallest size's (1.0 =
    the same per host; above 1, worse than linear)."""
    if not rows:
        return {}
    base_n = min(rows)
    base = rows[base_n] / base_n
    return {n: {"per_host": rows[n] / n,
                "vs_base": (rows[n] / n) / base if base else float("nan")}
            for n in sorted(rows)}
