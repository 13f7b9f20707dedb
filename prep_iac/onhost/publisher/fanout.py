"""Every difusor at once: one process each (its own interpreter, so pushes do not queue on
one GIL), and no difusor waits for another beyond its own deadline: a push still running
when its time is up is killed and reported failed while the others go on."""

import multiprocessing as mp
import os
import queue
import time

from prep_iac.onhost.publisher.push import Result, Signed, push_one
from prep_iac.onhost.publisher.registry import Registry


def _die_with_parent():
    """A killed publisher takes its pushes with it (Linux prctl PR_SET_PDEATHSIG)."""
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _child(results, difusor, signed, user, key, kw):
    _die_with_parent()
    try:
        r = push_one(difusor, signed, user=user, key=key, **kw)
    except BaseException as exc:  # noqa: BLE001 - reported, never lost
        r = Result(difusor.name, signed.manifest.cut_id, "failed", f"push crashed: {exc!r}")
    results.put(r)
    results.close()
    results.join_thread()
    os._exit(0)  # no inherited finalizers (the parent's ledger, loggers) run here


def push_all(registry: Registry, signed: Signed, key, *, sessions=4, timeout=10.0,
             activation_timeout=60.0, connect_timeout=None, deadline_s=None, hooks=None,
             on_result=None, known=None):
    deadline_s = deadline_s or (timeout * 3 + activation_timeout + 600)
    cut = signed.manifest.cut_id
    ctx = mp.get_context("fork")  # the key and the cut are inherited, not pickled
    results_q = ctx.Queue()
    procs = {}
    for d in registry.difusores:
        kw = {"sessions": sessions, "timeout": timeout, "activation_timeout": activation_timeout,
              "connect_timeout": connect_timeout, "hooks": (hooks or {}).get(d.name),
              "known": known}
        p = ctx.Process(target=_child, args=(results_q, d, signed, registry.jail_user, key, kw),
                        name=f"push-{d.name}", daemon=True)
        p.start()
        procs[d.name] = p
    results: dict[str, Result] = {}
    start = time.monotonic()

    def done(r):
        results[r.difusor] = r
        if on_result:
            on_result(r)

    while len(results) < len(procs):
        left = deadline_s - (time.monotonic() - start)
        if left <= 0:
            break
        try:
            done(results_q.get(timeout=min(left, 0.5)))
        except queue.Empty:
            for name, p in procs.items():
                if name not in results and p.exitcode not in (None, 0):
                    done(Result(name, cut, "failed", f"push process died (exit {p.exitcode})"))
    for name, p in procs.items():
        if name not in results:
            p.kill()
            done(Result(name, cut, "failed", f"push still running after {deadline_s:.0f} s, "
                        "stopped", seconds=round(time.monotonic() - start, 3)))
        p.join(timeout=5)
    results_q.close()
    return [results[d.name] for d in registry.difusores]
