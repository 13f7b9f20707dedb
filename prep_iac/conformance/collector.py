"""pytest plugin (``-p prep_iac.conformance.collector``): one CheckResult per check, written as
JSON at the end of the run. `verify` runs one pytest per host with it.

A suite that does not even import is not a silent gap: its requirements (read from its
source) fail with the import error as evidence.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from prep_iac.conformance import sshretry
from prep_iac.conformance.checkids import check_id, marker_id, suite_checks
from prep_iac.conformance.model import (
    CUMPLE,
    MANUAL,
    NO_APLICA,
    NO_CUMPLE,
    CheckResult,
    Command,
    clip,
)
from prep_iac.conformance.suites.checks import MANUAL as MANUAL_PREFIX
from prep_iac.conformance.suites.checks import NOT_APPLICABLE

MAX_COMMANDS = 25  # evidence kept per check: the first commands tell the story
MAX_DETAIL_LINES = 8


def pytest_addoption(parser):
    group = parser.getgroup("prep-iac conformance")
    group.addoption("--prep-results", help="write the check results here (JSON)")
    group.addoption("--prep-host", help="inventory name of the host under test")


def pytest_configure(config):
    sshretry.install()
    if config.getoption("--prep-results"):
        config.pluginmanager.register(Collector(config), "prep-collector")


class Collector:
    def __init__(self, config):
        self.config = config
        self.path = Path(config.getoption("--prep-results"))
        self.host = config.getoption("--prep-host") or ""
        self.results: list[CheckResult] = []
        self.started: dict[str, float] = {}

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        if report.when == "setup":
            self.started[item.nodeid] = time.monotonic()
        done = (report.when == "call" or (report.when == "setup" and not report.passed)
                or (report.when == "teardown" and report.failed))
        if done:
            self._record(item, call, report)

    def _record(self, item, call, report):
        # A teardown failure after a recorded call replaces nothing: the check is what ran.
        if report.when == "teardown" and any(r.check == item_check_id(item) and
                                             r.host == self._host(item) for r in self.results):
            return
        ids, devsec, cis = [], None, None
        for mark in item.iter_markers("conv"):
            ids += [a for a in mark.args if a not in ids]
            devsec = devsec or mark.kwargs.get("devsec")
            cis = cis or mark.kwargs.get("cis")
        status, detail = _outcome(call, report)
        evidence = getattr(item, "prep_evidence", [])
        commands = [Command(e["command"], e["rc"], e["output"]) for e in evidence[:MAX_COMMANDS]]
        if len(evidence) > MAX_COMMANDS:
            commands.append(Command(f"… y {len(evidence) - MAX_COMMANDS} comandos más"))
        doc = (getattr(item, "obj", None).__doc__ or "").strip().splitlines()
        title = doc[0] if doc else _readable(item)
        self.results.append(CheckResult(
            check=item_check_id(item), requirements=ids, host=self._host(item),
            status=status, title=title, detail=detail, evidence=commands, devsec=devsec,
            cis=cis, seconds=round(time.monotonic() - self.started.get(item.nodeid,
                                                                       time.monotonic()), 3)))

    def _host(self, item) -> str:
        if self.host:
            return self.host
        spec = getattr(getattr(item, "callspec", None), "params", {}).get("_testinfra_host")
        return str(getattr(spec, "backend", spec).get_hostname()) if spec else ""

    def pytest_collectreport(self, report):
        if not report.failed:
            return
        path = self.config.rootpath / report.nodeid.split("::")[0]
        suite = path.stem.removeprefix("test_")
        reqs = sorted({r for c in suite_checks(path.parent) if c.suite == suite
                       for r in c.requirements})
        self.results.append(CheckResult(
            check=f"{suite}::importar", requirements=reqs,
            host=self.host, status=NO_CUMPLE, title=f"La suite {path.name} se carga",
            detail="la suite no se pudo cargar: " + clip(str(report.longrepr), 600)))

    def pytest_sessionfinish(self, session):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps([r.to_json() for r in self.results], ensure_ascii=False))
        tmp.replace(self.path)


def _readable(item) -> str:
    """A title for a check without a docstring: its name in words, with its parameters."""
    name = getattr(item, "originalname", item.name).removeprefix("test_").replace("_", " ")
    params = item_check_id(item).partition("[")[2].rstrip("]")
    return f"{name.capitalize()} ({params})" if params else name.capitalize()


def item_check_id(item) -> str:
    """The check's id: the one its conv marker names (derived from its name only while it
    names none), with its parameters but not testinfra's host (the host is a column already)."""
    base = marker_id(item.iter_markers("conv")) or check_id(item.nodeid.split("[")[0])
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return base
    host = callspec.params.get("_testinfra_host")
    host_id = host.backend.get_pytest_id() if host is not None else None
    rest = callspec.id
    if host_id:
        if rest == host_id:
            rest = ""
        elif rest.startswith(host_id + "-"):
            rest = rest[len(host_id) + 1:]
        elif rest.endswith("-" + host_id):
            rest = rest[:-len(host_id) - 1]
    return f"{base}[{rest}]" if rest else base


def _outcome(call, report) -> tuple[str, str]:
    if report.skipped:
        reason = _skip_reason(report)
        if reason.startswith(MANUAL_PREFIX):
            return MANUAL, reason.removeprefix(MANUAL_PREFIX)
        return NO_APLICA, reason.removeprefix(NOT_APPLICABLE)
    if report.passed:
        return CUMPLE, ""
    excinfo = call.excinfo
    if excinfo is None:
        return NO_CUMPLE, clip(str(report.longrepr), 800)
    if excinfo.errisinstance(pytest.fail.Exception):
        text = excinfo.value.msg
    elif excinfo.errisinstance(AssertionError):
        text = str(excinfo.value) or excinfo.exconly()
    elif report.when == "setup":
        text = f"error al preparar la comprobación: {excinfo.exconly()}"
    else:
        text = f"error al ejecutar la comprobación: {excinfo.exconly()}"
    lines = text.strip().splitlines()
    return NO_CUMPLE, "\n".join(lines[:MAX_DETAIL_LINES])


def _skip_reason(report) -> str:
    longrepr = report.longrepr
    text = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return text.removeprefix("Skipped: ")
