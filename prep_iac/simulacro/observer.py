"""Watch every difusor through the night: what cut it serves, in what state, from when.

A thread polls each difusor's /estado.json; every change is recorded with its wall time.
This timeline is the drill's evidence: propagation delays, notices, outages all come from it.
"""

import json
import threading
import time
from dataclasses import asdict, dataclass

from prep_iac.simulacro.http import Client, Target


@dataclass(frozen=True)
class Observation:
    at: float  # wall clock (time.time())
    difusor: str
    corte: str | None  # None: not reachable or no estado.json
    estado: str | None
    error: str | None = None


class Observer:
    def __init__(self, targets: list[Target], interval: float = 0.5):
        self.targets = targets
        self.interval = interval
        self.timeline: list[Observation] = []
        self._last: dict[str, tuple] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._watch, args=(t,), daemon=True,
                                          name=f"observe-{t.name}") for t in targets]

    def start(self) -> "Observer":
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)

    def _watch(self, target: Target) -> None:
        client = Client(target, timeout=min(2.0, self.interval * 4))
        while not self._stop.is_set():
            self.record(target.name, *self._poll(client))
            self._stop.wait(self.interval)
        client.close()

    @staticmethod
    def _poll(client: Client) -> tuple[str | None, str | None, str | None]:
        try:
            resp = client.get("/estado.json")
        except OSError as exc:
            return None, None, type(exc).__name__
        if resp.status != 200:
            return None, None, f"HTTP {resp.status}"
        try:
            data = json.loads(resp.body)
        except ValueError:
            return None, None, "estado.json is not JSON"
        return data.get("corte"), data.get("estado"), None

    def record(self, difusor: str, corte, estado, error) -> None:
        key = (corte, estado, error)
        with self._lock:
            if self._last.get(difusor) == key:
                return
            self._last[difusor] = key
            self.timeline.append(Observation(time.time(), difusor, corte, estado, error))

    def current(self, difusor: str) -> tuple | None:
        with self._lock:
            return self._last.get(difusor)

    def first_seen(self, difusor: str, corte: str, after: float = 0.0) -> float | None:
        with self._lock:
            for obs in self.timeline:
                if obs.difusor == difusor and obs.corte == corte and obs.at >= after:
                    return obs.at
        return None

    def first_seen_any_after(self, difusor: str, after: float) -> Observation | None:
        """The first observation after `after` in which the difusor served some cut."""
        with self._lock:
            for obs in self.timeline:
                if obs.difusor == difusor and obs.at > after and obs.corte and not obs.error:
                    return obs
        return None

    def states_between(self, difusor: str, start: float, end: float) -> list[Observation]:
        """Observations in force at some moment of [start, end] (the one before start too)."""
        with self._lock:
            rows = [o for o in self.timeline if o.difusor == difusor]
        before = [o for o in rows if o.at < start]
        inside = [o for o in rows if start <= o.at <= end]
        return before[-1:] + inside

    def as_dicts(self) -> list[dict]:
        with self._lock:
            return [asdict(o) for o in self.timeline]
