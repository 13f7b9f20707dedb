"""How a push waits for the activator's answer (push.wait_result): soon at first, then less
and less often, and once more at the deadline."""

import itertools
import json
import time

from prep_iac.onhost.publisher import push


class _File:
    def __init__(self, data: bytes):
        self.data = data

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def read(self, n):
        return self.data[:n]


class _Jail:
    """An SFTP client whose ultimo.json holds the answer from the `answer_at`-th ask on."""

    def __init__(self, answer: dict, answer_at: int | None):
        self.answer, self.answer_at, self.asks = answer, answer_at, []

    def open(self, path, mode):
        assert path == push.LAST_RESULT and mode == "rb"
        self.asks.append(time.monotonic())
        served = self.answer if self.answer_at is not None and \
            len(self.asks) >= self.answer_at else {"corte": "older", "solicitud": "x"}
        return _File(json.dumps(served).encode())


ANSWER = {"corte": "c1", "solicitud": "n1", "resultado": "activado"}


def test_the_pauses_start_short_and_grow_to_a_cap():
    pauses = push.poll_delays()
    first = [next(pauses) for _ in range(12)]
    assert first[0] == push.POLL_FIRST_S
    assert all(b >= a for a, b in itertools.pairwise(first))
    assert max(first) == push.POLL_MAX_S == first[-1]
    # Ten seconds of waiting ask about 25 times (it was about 100 at a steady 0.1 s).
    total, asks = 0.0, 0
    pauses = push.poll_delays()
    while total < 10:
        total += next(pauses)
        asks += 1
    assert 20 <= asks <= 26


def test_an_answer_is_taken_at_the_first_ask_that_sees_it():
    jail = _Jail(ANSWER, answer_at=3)
    started = time.monotonic()
    assert push.wait_result(jail, "c1", "n1", {}, 5.0) == ("activated", None)
    assert len(jail.asks) == 3
    assert time.monotonic() - started < 0.5  # 0.05 + 0.075 of pauses before the third ask


def test_a_refusal_carries_its_reason():
    refused = {"corte": "c1", "solicitud": "n1", "resultado": "rechazado", "motivo": "hash"}
    assert push.wait_result(_Jail(refused, 1), "c1", "n1", {}, 5.0) == ("refused", "hash")


def test_another_request_s_answer_is_not_this_one():
    other = dict(ANSWER, solicitud="n0")
    result, reason = push.wait_result(_Jail(other, 1), "c1", "n1", {}, 0.3)
    assert result == "failed" and reason.startswith("no answer from the activator")


def test_no_answer_fails_at_the_deadline_after_a_last_ask_there():
    jail = _Jail(ANSWER, answer_at=None)
    started = time.monotonic()
    result, reason = push.wait_result(jail, "c1", "n1", {}, 1.2)
    elapsed = time.monotonic() - started
    assert result == "failed" and reason == "no answer from the activator within 1 s"
    assert 1.2 <= elapsed < 1.6
    assert jail.asks[-1] - started >= 1.2  # the last ask is at the deadline, not before it
    assert 6 <= len(jail.asks) <= 9
