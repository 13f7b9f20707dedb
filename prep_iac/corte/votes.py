"""What each acta says: votes that add up, and the few actas that do not behave.

Rates of the odd cases are in the range seen in recent PREPs (a few percent of actas with
an illegible field, well under one percent without acta or over the nominal list).
"""

import math
import random
from dataclasses import dataclass, field

from prep_iac.corte import catalogue as cat
from prep_iac.corte.electorate import Casilla

BOLETAS_ESPECIAL = 750
REPRESENTANTES_MARGIN = 26  # ballots printed on top of the nominal list for party reps


@dataclass(slots=True)
class Acta:
    """The contents of one acta as captured. Vote cells are strings: a number, ILEGIBLE
    or SIN DATO, so the CSV writer and the parser see the same thing."""

    observaciones: str = ""
    contabilizada: str = cat.CONTABILIZADA_SI
    has_image: bool = True
    head: list[str] = field(default_factory=list)  # HEAD_COUNTS, in order
    votes: list[str] = field(default_factory=list)  # VOTE_COLUMNS + NO_REGISTRADOS, NULOS
    asentado: str = ""
    calculado: str = ""
    representantes: str = ""
    mecanismo: str = ""
    origen: str = ""
    digitalizacion: str = ""
    tipo_documento: str = "ACTA PREP"
    # Plain integers for the site and the image (illegible cells as what was written).
    written: list[int] = field(default_factory=list)


@dataclass(slots=True)
class MunicipioProfile:
    factors: list[float]  # multiplies each party's base share here
    turnout: float
    coalicion: bool
    independiente: bool


def municipio_profiles(rng: random.Random) -> dict[int, MunicipioProfile]:
    profiles = {}
    for mid, _, pop in cat.MUNICIPIOS:
        factors = [math.exp(rng.gauss(0, 0.35)) for _ in cat.PARTIDOS]
        profiles[mid] = MunicipioProfile(
            factors=factors,
            turnout=min(0.75, max(0.35, rng.gauss(0.53, 0.06) + (0.04 if pop < 20_000 else 0))),
            coalicion=rng.random() < 0.6,
            independiente=rng.random() < 0.25,
        )
    return profiles


def _split(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` votes by ``weights`` so the parts add up exactly."""
    wsum = sum(weights) or 1.0
    exact = [total * w / wsum for w in weights]
    parts = [int(x) for x in exact]
    left = total - sum(parts)
    order = sorted(range(len(weights)), key=lambda i: -(exact[i] - parts[i]))
    for i in order[:left]:
        parts[i] += 1
    return parts


def make_acta(rng: random.Random, c: Casilla, prof: MunicipioProfile) -> Acta:
    acta = Acta()
    r = rng.random()
    if r < 0.002:
        return _sin_acta(acta, cat.OBS_SIN_ACTA_NO_INSTALADA)
    if r < 0.007:
        return _sin_acta(acta, cat.OBS_SIN_ACTA_PAQUETE)
    kind = "ok"
    if r < 0.010:
        kind = "todos"
    elif r < 0.013 and c.tipo != "S":
        kind = "excede"
    elif r < 0.040:
        kind = "alguno"

    reps = rng.randint(0, 6)
    if c.tipo == "S":
        personas = rng.randint(120, BOLETAS_ESPECIAL - 10)
        boletas = BOLETAS_ESPECIAL
    else:
        t = min(0.95, max(0.12, rng.gauss(prof.turnout, 0.08)))
        personas = round(c.lista_nominal * t)
        boletas = c.lista_nominal + REPRESENTANTES_MARGIN
    if kind == "excede":
        personas = c.lista_nominal + rng.randint(8, 90)
    total = personas + reps
    nulos = round(total * rng.uniform(0.01, 0.04))
    noreg = rng.choice((0, 0, 0, 0, 1, 1, 2))
    weights = [share * f * math.exp(rng.gauss(0, 0.25))
               for (_, share), f in zip(cat.PARTIDOS, prof.factors)]
    weights.append(cat.COALICION_SHARE if prof.coalicion else 0.0)
    weights.append(cat.INDEPENDIENTE_SHARE if prof.independiente else 0.0)
    parties = _split(max(0, total - nulos - noreg), weights)
    written = parties + [noreg, nulos]
    calculado = sum(written)

    sacados = total if rng.random() > 0.04 else max(0, total + rng.randint(-3, 3))
    asentado = calculado if rng.random() > 0.03 else max(0, calculado + rng.choice((-5, -2, -1, 1, 3, 10)))
    acta.written = written
    acta.head = [str(max(0, boletas - personas)), str(personas), str(reps), str(sacados)]
    acta.votes = [str(v) for v in written]
    acta.asentado = str(asentado)
    acta.representantes = str(rng.randint(4, 22))
    if kind == "alguno":
        # One vote cell could not be read; it counts as zero in the computed total.
        i = rng.randrange(len(written))
        acta.votes[i] = rng.choice((cat.ILEGIBLE, cat.SIN_DATO))
        calculado -= written[i]
        acta.observaciones = cat.OBS_ILEGIBLE_ALGUNO
    elif kind == "todos":
        acta.votes = [cat.ILEGIBLE] * len(written)
        acta.head = [cat.ILEGIBLE] * len(acta.head)
        acta.asentado = cat.ILEGIBLE
        calculado = 0
        acta.observaciones = cat.OBS_ILEGIBLE_TODOS
        acta.contabilizada = cat.CONTABILIZADA_NO
    elif kind == "excede":
        acta.observaciones = cat.OBS_EXCEDE_LN
        acta.contabilizada = cat.CONTABILIZADA_NO
    acta.calculado = str(calculado)
    _logistics(rng, acta)
    return acta


def _sin_acta(acta: Acta, why: str) -> Acta:
    acta.observaciones = why
    acta.contabilizada = cat.CONTABILIZADA_NO
    acta.has_image = False
    acta.tipo_documento = ""
    return acta


def _logistics(rng: random.Random, acta: Acta) -> None:
    # About half the actas arrive as a phone photo from the casilla (PREP Casilla), the
    # rest are scanned at a collection centre (CATD) once the package arrives.
    if rng.random() < 0.5:
        acta.origen, acta.digitalizacion = "CASILLA", "MÓVIL"
    else:
        acta.origen, acta.digitalizacion = "CATD", "ESCÁNER"
    acta.mecanismo = rng.choice(("D", "F", "F", "I"))
    if rng.random() < 0.02:
        acta.tipo_documento = "CONSTANCIA INDIVIDUAL"


def make_fuera(rng: random.Random) -> Acta:
    acta = Acta(observaciones=cat.OBS_FUERA_CATALOGO, contabilizada=cat.CONTABILIZADA_FUERA)
    acta.written = []
    _logistics(rng, acta)
    return acta
