"""The command's long child processes, ended with it when it is interrupted.

A drill, a deploy or a verify waits on pyinfra, pytest, verifies and audits from worker
threads. Interrupted (Ctrl-C, or SIGTERM from a supervisor or a CI timeout), the main thread
unwinds its `finally`s (the lab's teardown among them), but a thread pool first waits for its
workers and each worker for its child: a deploy takes minutes, and a child in a session of its
own never sees the terminal's Ctrl-C. So the handler installed by `install()` ends every
child started through `run()` or `popen()` before it raises KeyboardInterrupt: the waits
return at once and the command ends with its cleanup done. SIGTERM without a handler would
end the command with no cleanup at all, leaving a drill's lab running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.RLock()  # re-entrant: the handler may interrupt the main thread holding it
_live: dict[int, tuple[subprocess.Popen, bool]] = {}  # pid: (process, leads its own group)
_received: int | None = None  # the signal that interrupted the command, once one did


def received() -> int | None:
    """The signal that interrupted this command (signal.SIGINT or SIGTERM), if any."""
    return _received


def install() -> None:
    """Ctrl-C and SIGTERM end the tracked children, then unwind the command as Ctrl-C does.
    Only for a command's own process (`prep-iac`), never in tests that call main()."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _on_signal)


def _on_signal(signum: int, _frame) -> None:
    global _received
    _received = signum
    end_all()
    raise KeyboardInterrupt


def end_all() -> None:
    """SIGTERM to every tracked child (to its whole group when it leads one)."""
    with _lock:
        for proc, leads_group in list(_live.values()):
            _terminate(proc, leads_group)


def _terminate(proc: subprocess.Popen, leads_group: bool) -> None:
    try:
        if leads_group:
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            proc.send_signal(signal.SIGTERM)
    except ProcessLookupError:  # already gone
        pass


@contextmanager
def popen(cmd: list[str], **kw) -> Iterator[subprocess.Popen]:
    """subprocess.Popen, tracked while the block runs; one started after the command was
    interrupted (a worker thread racing the handler) is ended at once."""
    leads_group = bool(kw.get("start_new_session"))
    with subprocess.Popen(cmd, **kw) as proc:
        with _lock:
            _live[proc.pid] = (proc, leads_group)
            if _received is not None:
                _terminate(proc, leads_group)
        try:
            yield proc
        finally:
            with _lock:
                _live.pop(proc.pid, None)


def run(cmd: list[str], *, input: str | bytes | None = None, timeout: float | None = None,
        capture_output: bool = False, **kw) -> subprocess.CompletedProcess:
    """subprocess.run() on a tracked child. On a timeout the child is killed and
    TimeoutExpired raised, as subprocess.run does."""
    if capture_output:
        kw.update(stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if input is not None:
        kw["stdin"] = subprocess.PIPE
    with popen(cmd, **kw) as proc:
        try:
            out, err = proc.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)
