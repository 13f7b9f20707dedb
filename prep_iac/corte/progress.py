"""The night's progress: when each acta is collected, captured and verified.

Times are seconds after the PREP opens (18:00, when casillas close). Capture follows the
curve of real election nights: nothing for the first hour, phone photos from the casillas
first, most actas between 21:00 and 02:00, then a long tail of late packages into the next
day; a few are still missing when the PREP closes 24 hours after opening.
"""

import math
import random
from dataclasses import dataclass

HOUR = 3600
CLOSE_AFTER = 24 * HOUR


@dataclass(slots=True)
class Timeline:
    acopio: int
    captura: int
    verificacion: int  # the acta is published in the first cut at or after this


def timeline(rng: random.Random, origen: str, especial: bool) -> Timeline | None:
    """None for an acta that never reaches the PREP before it closes."""
    r = rng.random()
    if r < 0.004:
        return None
    if r < 0.07:
        hours = math.exp(rng.gauss(math.log(10.0), 0.45))  # late packages
    elif origen == "CASILLA":
        hours = math.exp(rng.gauss(math.log(3.6), 0.33))
    else:
        hours = math.exp(rng.gauss(math.log(5.4), 0.30))
    if especial:
        hours += 1.0  # especiales count more ballots and close later
    verif = int(min(CLOSE_AFTER - 60, max(0.75 * HOUR, hours * HOUR)))
    captura = verif - rng.randint(40, 480)
    if origen == "CASILLA":
        acopio = captura - rng.randint(20, 300)
    else:
        acopio = captura - rng.randint(120, 2400)
    return Timeline(max(600, acopio), max(660, captura), verif)
