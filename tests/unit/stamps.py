"""Signed stamps for tests that build manifests (contract.py: the signed stamp)."""

import itertools

from prep_iac import contract

PROCESS = "prueba-2021"
_sequence = itertools.count(1)


def stamp(**changes) -> dict:
    """A production stamp of PROCESS with a new sequence; `changes` override it."""
    value = {"proceso": PROCESS, "modo": contract.PRODUCTION, "secuencia": next(_sequence),
             "emitido": "2021-06-06T20:00:30-05:00", "final": False}
    value.update(changes)
    return value
