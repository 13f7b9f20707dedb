"""Small helpers the suites share."""

import pytest

NOT_APPLICABLE = "no aplica: "
# Said by a check meant for the other role (a publisher's check on a difusor): the one kind of
# "no aplica" that owes no evidence, since the requirement is proven on the other host.
ROLE_MISMATCH = "esta comprobación es para "


def not_applicable(reason: str):
    """Report this check as not applicable to the host, with the reason (never a silent pass)."""
    pytest.skip(NOT_APPLICABLE + reason)

MANUAL = "manual: "


def manual(evidence: str):
    """The host cannot prove this by itself: reported "manual", asking for ``evidence``."""
    pytest.skip(MANUAL + evidence)


class CommandRecorder:
    """Wraps one testinfra host's ``run`` (testinfra modules call it for every command) and
    appends each command and its result to ``log`` while a check runs."""

    MAX_OUTPUT = 2000

    def __init__(self, host):
        self.host = host
        self.inner = host.run
        self.log: list[dict] | None = None

    @classmethod
    def attach(cls, host) -> "CommandRecorder":
        recorder = host.__dict__.get("_prep_recorder")
        if recorder is None:
            recorder = cls(host)
            host.run = recorder  # the instance attribute shadows Host.run for every module
            host._prep_recorder = recorder
        return recorder

    def __call__(self, command, *args, **kwargs):
        shown = self.host.backend.quote(command, *args) if args else command
        try:
            out = self.inner(command, *args, **kwargs)
        except Exception as exc:
            self._add(shown, None, f"{type(exc).__name__}: {exc}")
            raise
        self._add(shown, out.rc, (out.stdout or "") + (out.stderr or ""))
        return out

    def _add(self, command, rc, output):
        if self.log is None:
            return
        if len(output) > self.MAX_OUTPUT:
            output = output[:self.MAX_OUTPUT] + f"\n… ({len(output) - self.MAX_OUTPUT} más)"
        self.log.append({"command": command, "rc": rc, "output": output})
