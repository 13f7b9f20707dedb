"""Simulated visitors: a bounded stream of page loads, so the logs have a night's shape.

Bounded in rate, in count and in time, from the controller's lab address only; it stops
by itself at the end of the night or when its request budget is spent.
"""

import random
import threading

from prep_iac.simulacro.http import Client, Target

# What a visitor loads, with weights: pages, the data they read, the cut time. "{m}" is one of
# Coahuila's 38 municipalities, as the generator's site names its pages.
PATHS = [("/", 6), ("/estado.json", 8), ("/datos/resumen.json", 3), ("/municipio_{m}.html", 4),
         ("/datos/municipio_{m}.json", 2), ("/estilo.css", 1), ("/portal/", 1)]
MUNICIPIOS = 38


class Visitors:
    def __init__(self, targets: list[Target], rate_per_s: float = 8.0, max_requests: int = 20_000,
                 seed: int = 7, paths=PATHS, curve=None):
        self.targets = targets
        self.rate = rate_per_s
        self.max_requests = max_requests
        self.paths, self.weights = zip(*paths)
        self.curve = curve or (lambda: 1.0)  # traffic multiplier for the night's shape
        self.random = random.Random(seed)
        self.sent = 0
        self.statuses: dict[int, int] = {}
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="visitors")

    def start(self) -> "Visitors":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.ident is not None:  # a night that failed early never started them
            self._thread.join(timeout=10)

    def _run(self) -> None:
        clients = {t.name: Client(t, timeout=2.0) for t in self.targets}
        while not self._stop.is_set() and self.sent < self.max_requests:
            target = self.random.choice(self.targets)
            path = self.random.choices(self.paths, self.weights)[0].format(
                m=f"{self.random.randint(1, MUNICIPIOS):02d}")
            try:
                resp = clients[target.name].get(path)
                self.statuses[resp.status] = self.statuses.get(resp.status, 0) + 1
            except OSError:
                self.errors += 1
            self.sent += 1
            rate = max(0.1, self.rate * self.curve())
            self._stop.wait(self.random.expovariate(rate))
        for client in clients.values():
            client.close()

    def summary(self) -> dict:
        return {"requests": self.sent, "errors": self.errors,
                "statuses": {str(k): v for k, v in sorted(self.statuses.items())}}
