"""A ceiling on new connections per second: the difusor's firewall limits new connections
per source (CONV-II.d.1), and an audit must not trip it and then read its own drops as
closed ports or refused ciphers."""

import threading
import time

NEW_CONNECTIONS_PER_S = 20


class Pacer:
    def __init__(self, per_second: float = NEW_CONNECTIONS_PER_S):
        self.interval = 1.0 / per_second
        self.lock = threading.Lock()
        self.next_at = 0.0

    def wait(self) -> None:
        with self.lock:
            now = time.monotonic()
            at = max(now, self.next_at)
            self.next_at = at + self.interval
        delay = at - time.monotonic()
        if delay > 0:
            time.sleep(delay)


PACER = Pacer()
# Requests, not connections: a difusor limits requests per address (nginx limit_req, 50/s
# by default); an audit stays well under it so it never measures its own 429s.
REQUESTS_PER_S = 25
REQUESTS = Pacer(REQUESTS_PER_S)
