"""Every difusor at once: one thread each, and no difusor waits for another beyond its
own deadline (a dead one is reported failed when its time is up; the others go on)."""

import threading
import time

from prep_iac.publish.push import Result, Signed, push_one
from prep_iac.publish.registry import Registry


def push_all(registry: Registry, signed: Signed, key, *, sessions=4, timeout=10.0,
             activation_timeout=60.0, deadline_s=None, hooks=None, on_result=None):
    deadline_s = deadline_s or (timeout * 3 + activation_timeout + 600)
    results: dict[str, Result] = {}
    lock = threading.Lock()

    def run(d):
        r = push_one(d, signed, user=registry.jail_user, key=key, sessions=sessions,
                     timeout=timeout, activation_timeout=activation_timeout,
                     hooks=(hooks or {}).get(d.name))
        with lock:
            if d.name not in results:
                results[d.name] = r
                if on_result:
                    on_result(r)

    threads = {d.name: threading.Thread(target=run, args=(d,), daemon=True)
               for d in registry.difusores}
    start = time.monotonic()
    for t in threads.values():
        t.start()
    for name, t in threads.items():
        t.join(max(0.0, deadline_s - (time.monotonic() - start)))
    with lock:
        for name, t in threads.items():
            if name not in results:
                r = Result(name, signed.manifest.cut_id, "failed",
                           f"push still running after {deadline_s:.0f} s, abandoned",
                           seconds=round(time.monotonic() - start, 3))
                results[name] = r
                if on_result:
                    on_result(r)
    return [results[d.name] for d in registry.difusores]
