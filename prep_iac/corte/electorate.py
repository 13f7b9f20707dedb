"""The electorate: casillas spread over sections of Coahuila's 38 municipalities.

Deterministic for a seed. Realistic shape, simulated numbers: a section holds a básica and
its contiguas (each casilla serves up to 750 voters), rural sections sometimes an
extraordinaria, and the largest municipalities a few especiales (no nominal list: they
serve voters in transit).
"""

import random
from dataclasses import dataclass

from prep_iac.corte import catalogue as cat

MIN_ACTAS = len(cat.MUNICIPIOS) + 2


@dataclass(slots=True)
class Casilla:
    municipio_id: int
    municipio: str
    seccion: int
    tipo: str  # B, C, E, S
    id_casilla: int
    ext_contigua: int
    ubicacion: int  # 1 urbana, 2 no urbana
    lista_nominal: int

    # Derived keys, computed once: every cut writes them thousands of times.
    clave_casilla: str = ""
    clave_acta: str = ""
    image_name: str = ""

    def __post_init__(self):
        # The leading apostrophe is how the Institute keeps spreadsheets from eating zeros.
        core = (f"{cat.ID_ESTADO:02d}{self.seccion:04d}{self.tipo}"
                f"{self.id_casilla:02d}{self.ext_contigua:02d}")
        self.clave_casilla = f"'{core}'"
        self.clave_acta = f"'{core}{self.tipo_acta}'"
        self.image_name = f"{core}{self.tipo_acta}.png"

    @property
    def tipo_acta(self) -> str:
        return cat.TIPO_ACTA_ESPECIAL if self.tipo == "S" else cat.TIPO_ACTA


def _apportion(total: int, weights: list[float], minimum: int) -> list[int]:
    """Largest-remainder split of ``total`` by ``weights``, each share at least ``minimum``."""
    base = [minimum] * len(weights)
    rest = total - minimum * len(weights)
    wsum = sum(weights)
    exact = [rest * w / wsum for w in weights]
    shares = [int(x) for x in exact]
    left = rest - sum(shares)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - shares[i]), i))
    for i in order[:left]:
        shares[i] += 1
    return [b + s for b, s in zip(base, shares)]


def build_casillas(rng: random.Random, actas: int) -> list[Casilla]:
    """``actas`` casillas (one ayuntamientos acta each), ordered as the CSV lists them."""
    n_especiales = max(1, round(actas * 0.009))
    ordinary = _apportion(actas - n_especiales, [p for _, _, p in cat.MUNICIPIOS], 1)
    # Especiales go where people travel: the five largest municipalities.
    largest = sorted(cat.MUNICIPIOS, key=lambda m: -m[2])[:5]
    especiales = dict.fromkeys((m[0] for m in largest), 0)
    for i in range(n_especiales):
        especiales[largest[i % 5][0]] += 1

    casillas: list[Casilla] = []
    seccion = 1
    for (mid, name, pop), count in zip(cat.MUNICIPIOS, ordinary):
        urban_share = 0.92 if pop > 100_000 else 0.6 if pop > 20_000 else 0.3
        left = count
        mun_sections: list[int] = []
        while left > 0:
            size = min(left, rng.choice((1, 2, 2, 3, 3, 3, 4, 5)))
            urbana = rng.random() < urban_share
            ubic = 1 if urbana else 2
            kinds = [("B", 1, 0)] + [("C", k, 0) for k in range(1, size)]
            if not urbana and size >= 2 and rng.random() < 0.3:
                # A remote part of the section gets an extraordinaria (and maybe its contigua).
                kinds[-1] = ("E", 1, 0)
                if size >= 3 and rng.random() < 0.5:
                    kinds[-2:] = [("E", 1, 0), ("E", 1, 1)]
            for tipo, idc, ext in kinds:
                if urbana:
                    ln = rng.randint(380, 745)
                else:
                    ln = rng.randint(90, 620)
                casillas.append(Casilla(mid, name, seccion, tipo, idc, ext, ubic, ln))
            mun_sections.append(seccion)
            seccion += 1
            left -= size
        for k in range(especiales.get(mid, 0)):
            sec = mun_sections[rng.randrange(len(mun_sections))]
            casillas.append(Casilla(mid, name, sec, "S", k + 1, 0, 1, 0))
    order = {"B": 0, "C": 1, "E": 2, "S": 3}
    casillas.sort(key=lambda c: (c.municipio_id, c.seccion, order[c.tipo], c.id_casilla,
                                 c.ext_contigua))
    return casillas


def out_of_catalogue(rng: random.Random, casillas: list[Casilla], count: int) -> list[Casilla]:
    """Casillas that were never approved: a contigua number no section has (typing errors,
    actas of another election sent by mistake)."""
    result = []
    for _ in range(count):
        real = casillas[rng.randrange(len(casillas))]
        result.append(Casilla(real.municipio_id, real.municipio, real.seccion, "C",
                              rng.randint(20, 40), 0, real.ubicacion, 0))
    return result
