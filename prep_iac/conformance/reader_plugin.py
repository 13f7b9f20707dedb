"""pytest plugin (``-p prep_iac.conformance.reader_plugin``) for `verify --cuenta-iec`: the
suites run as the Institute's read-only account, without --sudo; the command lines of
reader.root_commands() go through ``sudo -n`` (the account's sudoers allows exactly those),
and a check that failed only because the account may not run one of its commands is
reported "no aplica", naming the command, instead of "no cumple"."""

from __future__ import annotations

import functools
import re

import pytest

from prep_iac.conformance import reader
from prep_iac.conformance.suites.checks import NOT_APPLICABLE

# What a refusal for lack of privilege looks like, from the command or from sudo.
DENIED = re.compile(r"permission denied|operation not permitted|must be root|you may not|"
                    r"only root|sudo: |not allowed|access denied|not permitted",
                    re.IGNORECASE)


@functools.lru_cache(maxsize=2)
def _allowed(inventory_path: str, host_name: str) -> tuple[str, ...]:
    from prep_iac.inventory import load_inventory

    return tuple(reader.root_commands(load_inventory(inventory_path), host_name))


class Router:
    """Stands in for ``host.run``: routes allowed commands through sudo, notes refusals."""

    def __init__(self, host, allowed):
        self.host, self.inner, self.allowed = host, host.run, allowed
        self.denied: list[str] | None = None

    def __call__(self, command, *args, **kwargs):
        text = self.host.backend.quote(command, *args) if args else command
        routed = reader.route(text, self.allowed)
        out = self.inner(routed)
        if out.rc != 0 and self.denied is not None and \
                DENIED.search((out.stderr or "") + (out.stdout or "")):
            self.denied.append(routed)
        return out


@pytest.fixture(autouse=True)
def _reader_route(request, _record_commands):
    """After the evidence recorder (so the evidence shows the sudo), route this check."""
    if "host" not in request.fixturenames:
        yield
        return
    host = request.getfixturevalue("host")
    router = host.__dict__.get("_prep_router")
    if router is None:
        config = request.config
        router = Router(host, _allowed(config.getoption("--prep-inventory"),
                                       config.getoption("--prep-host")))
        host.run = router
        host._prep_router = router
    router.denied = request.node.prep_denied = []
    yield
    router.denied = None


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    denied = getattr(item, "prep_denied", None)
    if report.when != "call" or not report.failed or not denied:
        return
    command = denied[0].removeprefix(reader.SUDO)
    report.outcome = "skipped"
    report.longrepr = (str(item.path), item.location[1] or 0,
                       (f"Skipped: {NOT_APPLICABLE}la cuenta de lectura del IEC no puede "
                       f"ejecutar `{command}` (necesita root): esta comprobación la da la "
                       "verificación del difusor con su cuenta de administración"))
