"""A national night: several federal elections on one catalogue of ~170,000 casillas.

Every casilla holds one acta per election (PRES, SEN, DIP); each election is published as
the INE publishes it: its own CSV (the same header block as Coahuila's) and LEEME.txt in
its own zip, beside a site that links every election. Deterministic for a seed.

Built for size: the whole night is drawn once (about 10 s of CPU for 510,000 actas) and
kept as each acta's CSV row plus a few integers, so a cut is a filter on time, a join and
a deflate. No acta images: half a million of them would be
~12 GB a cut; the SHA column holds the digest of an image that is not written (the
institutes serve acta images from their own service anyway).
"""

import hashlib
import math
import random
from array import array
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from prep_iac.corte import catalogue as cat
from prep_iac.corte import nacional_catalogue as nat
from prep_iac.corte import timing
from prep_iac.corte.electorate import _apportion
from prep_iac.corte.progress import timeline
from prep_iac.errors import PrepError

ACTA_HEADER = nat.KEY_COLUMNS + cat.HEAD_COUNTS + nat.VOTE_COLUMNS + cat.TAIL_COLUMNS
N_VOTES = len(nat.VOTE_COLUMNS) + 2  # + NO_REGISTRADOS, NULOS

MIN_CASILLAS = nat.DISTRITOS * 2
# The limit and its reason: the night lives in memory, ~650 bytes an acta (its CSV row and
# counters; 363 MB measured for the 510,546 actas of 2024, bench/nacional.py), and every cut
# rewrites and deflates each election's CSV (~70 MB each at this limit): 250,000 casillas x
# 3 elections is ~500 MB and a cut of ~8 s CPU, more than a shared 2-core machine keeps
# inside a drill's period.
MAX_CASILLAS = 250_000


def check_casillas(casillas: int) -> None:
    """Refuse a catalogue the generator cannot hold, before anything is drawn or written."""
    if casillas > MAX_CASILLAS:
        raise PrepError(
            f"--casillas {casillas:,} is more than the national generator supports "
            f"({MAX_CASILLAS:,} casillas, {MAX_CASILLAS * 3:,} actas with 3 elections): it keeps "
            f"the whole night in memory (~650 bytes an acta) and rewrites every election's "
            f"CSV at each cut, so beyond that a cut outgrows memory and its period",
            f"use at most {MAX_CASILLAS:,} casillas (the 2024 federal catalogue has "
            f"{nat.DEFAULT_CASILLAS:,}); nothing was written")
    if casillas < MIN_CASILLAS:
        raise PrepError(f"--casillas {casillas} is too few for {nat.DISTRITOS} districts",
                        f"use at least {MIN_CASILLAS}")


@dataclass(slots=True)
class District:
    index: int
    entidad_id: int
    entidad: str
    numero: int
    nombre: str


@dataclass
class ElectionNight:
    """One election's actas: row text and the counters the site sums."""

    code: str
    line: str
    tipo_acta: str
    nombre: str
    # Each acta's row once captured (never captured: its row before), and how many
    # characters of it are the keys: the row before capture is rebuilt from those.
    rows: list[str] = field(default_factory=list)
    key_len: array = field(default_factory=lambda: array("H"))
    verif: array = field(default_factory=lambda: array("i"))  # seconds after opening; -1 never
    flags: bytearray = field(default_factory=bytearray)  # 1 observaciones, 2 contabilizada
    total: array = field(default_factory=lambda: array("I"))  # TOTAL_VOTOS_CALCULADO
    votes: list[array] = field(default_factory=list)  # per vote cell (counted actas only)
    fuera: list[tuple[int, str]] = field(default_factory=list)  # (verif, row) out of catalogue

    def row(self, i: int, published: bool, ln: int) -> str:
        if published:
            return self.rows[i]
        return self.rows[i][:self.key_len[i]] + pending_tail(str(ln))

    @property
    def csv_name(self) -> str:
        return f"{self.code}_{nat.YEAR}.csv"


FLAG_OBS, FLAG_CONTAB, FLAG_SIN_ACTA = 1, 2, 4


class NationalElection:
    """The federal night for one seed: ``casillas`` casillas over 32 entities and 300
    districts, one acta per casilla in each of ``elections``."""

    def __init__(self, seed: int = 7, casillas: int = nat.DEFAULT_CASILLAS, *,
                 elections: list[str] | None = None,
                 election_date: date = date(*nat.DEFAULT_DATE), tz: str = nat.DEFAULT_TZ):
        check_casillas(casillas)
        codes = elections or nat.CODES
        unknown = [c for c in codes if c not in nat.CODES]
        if unknown or len(set(codes)) != len(codes):
            raise PrepError(f"unknown or repeated elections: {', '.join(codes)}",
                            f"choose among {', '.join(nat.CODES)}, each once")
        self.seed = seed
        self.tz = timing.zone(tz)
        self.tz_name = tz
        self.date = election_date
        self.opening = datetime.combine(election_date, timing.OPENING, tzinfo=self.tz)
        self.closing = self._at(24 * 3600)
        self.districts: list[District] = []
        for eid, name, n in nat.ENTIDADES:
            for k in range(1, n + 1):
                self.districts.append(District(len(self.districts), eid, name, k,
                                               f"DISTRITO {k:02d}"))
        self._stamp_cache: dict[int, str] = {}
        rng = random.Random(f"{seed}:nacional:casillas")
        self.casilla_district = array("H")
        self.casilla_ln = array("l")
        self.casilla_especial = bytearray()
        prefixes = self._build_casillas(rng, casillas)
        order = [e for e in nat.ELECCIONES if e[0] in codes]
        self.elections = [ElectionNight(c, line, tipo, nombre) for c, line, tipo, nombre in order]
        for night in self.elections:
            self._draw(night, prefixes)

    # -- the catalogue -------------------------------------------------------------------
    def _build_casillas(self, rng: random.Random, casillas: int) -> list[tuple[str, str, str]]:
        """(clave core, key cells before TIPO_ACTA, tipo) of each casilla, in CSV order."""
        n_esp = max(len(self.districts) // 3, round(casillas * 0.006))
        weights = [rng.uniform(0.8, 1.2) for _ in self.districts]
        ordinary = _apportion(casillas - n_esp, weights, 1)
        especiales = [0] * len(self.districts)
        for i in range(n_esp):
            especiales[(i * 7) % len(self.districts)] += 1
        out: list[tuple[str, str, str]] = []
        seccion_by_entity: dict[int, int] = {}
        for d, count in zip(self.districts, ordinary):
            seccion = seccion_by_entity.get(d.entidad_id, 0)
            sections: list[int] = []
            left = count
            while left > 0:
                size = min(left, rng.choice((1, 2, 2, 3, 3, 3, 4, 5)))
                seccion += 1
                sections.append(seccion)
                urbana = rng.random() < 0.75
                for k in range(size):
                    tipo, idc = ("B", 1) if k == 0 else ("C", k)
                    ln = _between(rng, 380, 745) if urbana else _between(rng, 90, 620)
                    out.append(self._casilla(d, seccion, tipo, idc, 0, 1 if urbana else 2, ln))
                left -= size
            for k in range(especiales[d.index]):
                sec = sections[rng.randrange(len(sections))]
                out.append(self._casilla(d, sec, "S", k + 1, 0, 1, 0))
            seccion_by_entity[d.entidad_id] = seccion
        return out

    def _casilla(self, d: District, seccion: int, tipo: str, idc: int, ext: int, ubic: int,
                 ln: int) -> tuple[str, str, str]:
        self.casilla_district.append(d.index)
        self.casilla_ln.append(ln)
        self.casilla_especial.append(tipo == "S")
        core = f"{d.entidad_id:02d}{seccion:04d}{tipo}{idc:02d}{ext:02d}"
        keys = (f"{d.entidad_id},{d.entidad},{d.numero},{d.nombre},{seccion},{idc},{tipo},"
                f"{ext},{ubic}")
        return core, keys, tipo

    # -- the actas -------------------------------------------------------------------------
    def _draw(self, night: ElectionNight, prefixes: list[tuple[str, str, str]]) -> None:
        rng = random.Random(f"{self.seed}:nacional:{night.code}")
        t_rng = random.Random(f"{self.seed}:nacional:{night.code}:tiempos")
        shares = [s for _, s in nat.PARTIDOS] + [s for _, s in nat.COMBINACIONES]
        profile = {eid: ([s * math.exp(rng.gauss(0, 0.3)) for s in shares],
                         min(0.75, max(0.4, rng.gauss(0.6, 0.05))))
                   for eid, _, _ in nat.ENTIDADES}
        night.votes = [array("H") for _ in range(N_VOTES)]
        for i, (core, keys, tipo) in enumerate(prefixes):
            d = self.districts[self.casilla_district[i]]
            ln = self.casilla_ln[i]
            tipo_acta = night.tipo_acta + ("E" if tipo == "S" else "")
            prefix = f"'{core}','{core}{tipo_acta}',{keys},{tipo_acta}"
            ln_cell = str(ln)
            night.key_len.append(len(prefix))
            weights, turnout = profile[d.entidad_id]
            rest, flags, total, votes = self._acta(rng, tipo == "S", ln, weights, turnout)
            sin_acta, flags = flags & FLAG_SIN_ACTA, flags & ~FLAG_SIN_ACTA
            origen = "CASILLA" if rng.random() < 0.5 else "CATD"
            t = timeline(t_rng, origen, tipo == "S")
            night.verif.append(t.verificacion if t else -1)
            night.flags.append(flags)
            night.total.append(total)
            for col, v in zip(night.votes, votes):
                col.append(v)
            if t is None:
                night.rows.append(prefix + pending_tail(ln_cell))
                continue
            sha = "" if sin_acta else hashlib.sha256(
                f"{self.seed}:{night.code}:{core}".encode()).hexdigest()
            digit = "MÓVIL" if origen == "CASILLA" else "ESCÁNER"
            night.rows.append(
                f"{prefix},{rest.format(ln=ln_cell)},{'DFFI'[int(rng.random() * 4)]},{sha},"
                f"{self._stamp(t.acopio)},{self._stamp(t.captura)},{self._stamp(t.verificacion)},"
                f"{origen},{digit},{'' if sin_acta else 'ACTA PREP'}")
        for _ in range(2 + len(prefixes) // 1500):
            # Actas of casillas never approved: a contigua number no section has.
            core, keys, _ = prefixes[rng.randrange(len(prefixes))]
            number = rng.randint(20, 40)
            fake = f"{core[:-5]}C{number:02d}00"  # entity and section, then C, id, ext
            keys = ",".join(keys.split(",")[:5]) + f",{number},C,0,1"
            t = timeline(t_rng, "CATD", False)
            if t is None:
                continue
            row = (f"'{fake}','{fake}{night.tipo_acta}',{keys},{night.tipo_acta}"
                   + "," * (4 + N_VOTES + 2 + 1) + f",,{cat.OBS_FUERA_CATALOGO},{cat.CONTABILIZADA_FUERA},"
                   f"F,,{self._stamp(t.acopio)},{self._stamp(t.captura)},"
                   f"{self._stamp(t.verificacion)},CATD,ESCÁNER,ACTA PREP")
            night.fuera.append((t.verificacion, row))

    @staticmethod
    def _acta(rng: random.Random, especial: bool, ln: int, weights: list[float],
              turnout: float) -> tuple[str, int, int, list[int]]:
        """(the captured row's cells from TOTAL_BOLETAS_SOBRANTES to CONTABILIZADA, with
        `{ln}` for LISTA_NOMINAL; flags; TOTAL_VOTOS_CALCULADO; votes if counted)."""
        zero = [0] * N_VOTES
        r = rng.random()
        if r < 0.007:
            obs = cat.OBS_SIN_ACTA_NO_INSTALADA if r < 0.002 else cat.OBS_SIN_ACTA_PAQUETE
            cells = "," * (4 + N_VOTES + 2)
            return f"{cells}{{ln}},,{obs},{cat.CONTABILIZADA_NO}", FLAG_OBS | FLAG_SIN_ACTA, 0, zero
        reps = _between(rng, 0, 6)
        if especial:
            personas, boletas = _between(rng, 120, 740), 750
        else:
            personas = round(ln * min(0.95, max(0.12, rng.gauss(turnout, 0.08))))
            boletas = ln + 26
        excede = 0.010 <= r < 0.013 and not especial
        if excede:
            personas = ln + _between(rng, 8, 90)
        total = personas + reps
        nulos = round(total * rng.uniform(0.01, 0.04))
        noreg = (0, 0, 0, 1, 2)[int(rng.random() * 5)]
        rest = max(0, total - nulos - noreg)
        w = [x * (0.8 + 0.4 * rng.random()) for x in weights]
        wsum = sum(w)
        parts = [int(rest * x / wsum) for x in w]
        parts[parts.index(max(parts))] += rest - sum(parts)
        written = parts + [noreg, nulos]
        calculado = sum(written)
        cells = [str(v) for v in written]
        head = [str(max(0, boletas - personas)), str(personas), str(reps), str(total)]
        asentado = str(calculado)
        obs, contab, flags = "", cat.CONTABILIZADA_SI, FLAG_CONTAB
        if r < 0.010:
            cells = [cat.ILEGIBLE] * N_VOTES
            head = [cat.ILEGIBLE] * 4
            asentado, calculado = cat.ILEGIBLE, 0
            obs, contab, flags = cat.OBS_ILEGIBLE_TODOS, cat.CONTABILIZADA_NO, FLAG_OBS
        elif excede:
            obs, contab, flags = cat.OBS_EXCEDE_LN, cat.CONTABILIZADA_NO, FLAG_OBS
        elif r < 0.040:
            k = int(rng.random() * N_VOTES)
            calculado -= written[k]
            written[k] = 0
            cells[k] = cat.ILEGIBLE if rng.random() < 0.5 else cat.SIN_DATO
            obs, flags = cat.OBS_ILEGIBLE_ALGUNO, FLAG_OBS | FLAG_CONTAB
        row = (f"{','.join(head)},{','.join(cells)},{asentado},{calculado},{{ln}},"
               f"{_between(rng, 4, 22)},{obs},{contab}")
        return row, flags, calculado, (written if flags & FLAG_CONTAB else zero)

    # -- times -------------------------------------------------------------------------------
    def _at(self, seconds: int) -> datetime:
        return (self.opening.astimezone(UTC) + timedelta(seconds=seconds)).astimezone(self.tz)

    def _stamp(self, seconds: int) -> str:
        s = self._stamp_cache.get(seconds)
        if s is None:
            s = self._stamp_cache[seconds] = self._at(seconds).strftime(timing.TIMESTAMP_FORMAT)
        return s

    def seconds(self, at: datetime) -> float:
        return (at - self.opening).total_seconds()

    def local(self, at: datetime | str) -> datetime:
        return timing.parse_moment(at, self.date, self.tz, not_before=self.opening)

    def series(self, start: str = "18:00", end: str = "18:00",
               every: str | timedelta = "10m") -> list[datetime]:
        """Cut times as Election.series gives them (whole minutes: cut ids carry minutes)."""
        period = timing.parse_period(every)
        if period.total_seconds() % 60:
            raise PrepError(f"a period of {every} would give two cuts the same id",
                            "cut ids carry minutes (YYYYMMDD_HHMM): use whole minutes, e.g. 10m")
        s, e = self.local(start), self.local(end)
        if e <= s:
            e = datetime.combine(e.date() + timedelta(days=1), e.time(), tzinfo=self.tz)
        return timing.series_times(s, e, period)

    @property
    def actas(self) -> int:
        """Catalogue actas over every election."""
        return len(self.casilla_ln) * len(self.elections)


def pending_tail(ln_cell: str) -> str:
    """What follows the keys in the row of an acta not yet captured: LISTA_NOMINAL only."""
    return "," * (4 + N_VOTES + 2 + 1) + ln_cell + "," * 11


def _between(rng: random.Random, low: int, high: int) -> int:
    """rng.randint without its Python-level checks: it is called millions of times."""
    return low + int(rng.random() * (high - low + 1))


def cut_id(moment: datetime) -> str:
    return f"{moment:%Y%m%d_%H%M}_{nat.CUT_SUFFIX}"
