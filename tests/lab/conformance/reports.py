"""Reading conformance reports in the lab test: what fails, and why."""

from __future__ import annotations


def failing(report: dict) -> set[str]:
    return {r["id"] for r in report["requisitos"] if r["estado"] == "no cumple"}


def status(report: dict, req_id: str) -> str:
    return next(r["estado"] for r in report["requisitos"] if r["id"] == req_id)


def causes(report: dict, req_id: str) -> str:
    """Every failing check's detail and evidence of one requirement, as one text."""
    texts = []
    for check in report["comprobaciones"]:
        if req_id in check["requirements"] and check["status"] == "no cumple":
            texts.append(f"{check['check']}: {check['detail']}")
            texts += [f"{e['command']} -> {e['output']}" for e in check["evidence"]]
    return "\n".join(texts)


def summary(report: dict) -> str:
    return "\n".join(f"{r['id']}: {causes(report, r['id'])[:300]}"
                     for r in report["requisitos"] if r["estado"] == "no cumple")
