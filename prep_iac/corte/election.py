"""One simulated election night: the catalogue of actas, their contents and their times.

Everything is drawn once from the seed when the Election is made; a cut is then just a
filter on publication time, which is what makes a later cut contain every acta of an
earlier one.
"""

import hashlib
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from prep_iac.corte import timing
from prep_iac.corte.electorate import MIN_ACTAS, Casilla, build_casillas, out_of_catalogue
from prep_iac.corte.progress import Timeline, timeline
from prep_iac.corte.votes import Acta, make_acta, make_fuera, municipio_profiles
from prep_iac.errors import PrepError

DEFAULT_IMAGE_KB = 24
# The limit of a local cut, and why: every acta keeps its objects (~2 KB) and its image
# (image_kb) in the store, and each cut re-renders every municipality page with all its
# actas; at 50,000 actas (13x Coahuila's catalogue) a cut is ~1.2 GB of images and takes
# ~10x the 2 s aim. A bigger catalogue is the national generator's (--ambito nacional).
MAX_ACTAS = 50_000


@dataclass(slots=True)
class Entry:
    """One row of the acta table: where (casilla), what (acta), when (times)."""

    casilla: Casilla
    acta: Acta
    times: Timeline | None
    in_catalogue: bool = True
    # Formatted once: the three timestamps, in the Institute's time zone.
    stamps: tuple[str, str, str] = ("", "", "")

    def published(self, seconds: float) -> bool:
        return self.times is not None and self.times.verificacion <= seconds


def check_actas(actas: int) -> None:
    """Refuse, before anything is drawn or booted, a count the local generator does not support."""
    if actas < MIN_ACTAS:
        raise PrepError(f"--actas {actas} is too few for 38 municipalities",
                        f"use at least {MIN_ACTAS}")
    if actas > MAX_ACTAS:
        raise PrepError(
            f"--actas {actas:,} is more than a local cut supports ({MAX_ACTAS:,}): each acta "
            f"keeps its image and its row in every municipality page, so beyond that a cut "
            f"takes over 10 times the 2 s aim and gigabytes of images",
            f"use at most {MAX_ACTAS:,} actas, or --ambito nacional --casillas N for a "
            f"national catalogue (no images); nothing was written")


class Election:
    """A whole election night for one seed: ``entries`` (catalogue actas, then the
    out-of-catalogue ones), their contents and when each is published. Build it once and
    ask it for as many cuts as needed; it caches image hashes between cuts."""

    def __init__(self, seed: int = 7, actas: int = 4000, *, election_date: date = timing.DEFAULT_DATE,
                 tz: str = timing.DEFAULT_TZ, image_kb: int = DEFAULT_IMAGE_KB):
        check_actas(actas)
        if not 1 <= image_kb <= 10_000:
            raise PrepError(f"--image-kb {image_kb} is out of range", "use 1 to 10000 KB")
        self.seed = seed
        self.tz = timing.zone(tz)
        self.tz_name = tz
        self.date = election_date
        self.image_kb = image_kb
        self.opening = datetime.combine(election_date, timing.OPENING, tzinfo=self.tz)
        self.closing = self._at_offset(24 * 3600)

        # Separate streams, so adding a field to one part never shifts the others.
        rng_cas = random.Random(f"{seed}:casillas")
        rng_votes = random.Random(f"{seed}:votos")
        rng_time = random.Random(f"{seed}:tiempos")
        profiles = municipio_profiles(random.Random(f"{seed}:municipios"))
        casillas = build_casillas(rng_cas, actas)
        self.profiles = profiles
        self.entries: list[Entry] = []
        for c in casillas:
            acta = make_acta(rng_votes, c, profiles[c.municipio_id])
            t = timeline(rng_time, acta.origen, c.tipo == "S")
            self.entries.append(Entry(c, acta, t, True, self._stamps(t)))
        seen = {c.clave_acta for c in casillas}
        for c in out_of_catalogue(rng_cas, casillas, 2 + actas // 1500):
            if c.clave_acta in seen:
                continue
            seen.add(c.clave_acta)
            acta = make_fuera(rng_votes)
            t = timeline(rng_time, acta.origen, False)
            if t is not None:
                self.entries.append(Entry(c, acta, t, False, self._stamps(t)))
        self.catalogue = [e for e in self.entries if e.in_catalogue]
        self._sha: dict[str, str] = {}
        self._noise = None  # the images' speckle pool, made on first use (images.py)

    @property
    def fingerprint(self) -> str:
        """Identifies everything that shapes the images, to key the shared image store."""
        key = f"{self.seed}|{len(self.catalogue)}|{self.date}|{self.tz_name}|{self.image_kb}"
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    def _at_offset(self, seconds: int) -> datetime:
        return (self.opening.astimezone(UTC) + timedelta(seconds=seconds)).astimezone(self.tz)

    def _stamps(self, t: Timeline | None) -> tuple[str, str, str]:
        if t is None:
            return ("", "", "")
        f = timing.TIMESTAMP_FORMAT
        return (self._at_offset(t.acopio).strftime(f), self._at_offset(t.captura).strftime(f),
                self._at_offset(t.verificacion).strftime(f))

    def seconds(self, at: datetime) -> float:
        return (at - self.opening).total_seconds()

    def local(self, at: datetime | str) -> datetime:
        """A cut time as an aware datetime in the Institute's zone."""
        return timing.parse_moment(at, self.date, self.tz, not_before=self.opening)

    def published(self, at: datetime | str) -> list[Entry]:
        """Entries whose acta is in the cut at ``at`` (catalogue and out-of-catalogue)."""
        s = self.seconds(self.local(at))
        return [e for e in self.entries if e.published(s)]

    def published_between(self, earlier: datetime | str, later: datetime | str) -> list[Entry]:
        """Actas new in the cut at ``later`` relative to the cut at ``earlier``. Every acta
        of the earlier cut is in the later one, unchanged: a delta is only these."""
        a, b = self.seconds(self.local(earlier)), self.seconds(self.local(later))
        return [e for e in self.entries if e.published(b) and not e.published(a)]

    def series(self, start: str | datetime = "18:00", end: str | datetime = "18:00",
               every: str | timedelta = "10m") -> list[datetime]:
        """Cut times from ``start`` to ``end`` (``HH:MM`` on election night; an end not after
        the start means the next day)."""
        period = timing.parse_period(every)
        if period.total_seconds() % 60:
            raise PrepError(f"a period of {every} would give two cuts the same id",
                            "cut ids carry minutes (YYYYMMDD_HHMM): use whole minutes, e.g. 10m")
        s = self.local(start)
        e = self.local(end)
        if e <= s and not isinstance(end, datetime):
            e = datetime.combine(e.date() + timedelta(days=1), e.time(), tzinfo=self.tz)
        return timing.series_times(s, e, period)

    def sha(self, entry: Entry) -> str:
        """SHA-256 of the entry's acta image (made once, cached)."""
        name = entry.casilla.image_name
        h = self._sha.get(name)
        if h is None:
            from prep_iac.corte.images import acta_png

            h = hashlib.sha256(acta_png(self, entry)).hexdigest()
            self._sha[name] = h
        return h

    def noise_pool(self):
        """The speckle pool the acta images cut their signature band from."""
        if self._noise is None:
            from prep_iac.corte.images import NoisePool, band_rows

            self._noise = NoisePool(f"{self.seed}:imagenes", band_rows(self.image_kb))
        return self._noise

    def known_sha(self, name: str) -> str | None:
        return self._sha.get(name)

    def remember_sha(self, name: str, digest: str) -> None:
        self._sha[name] = digest


def series_times(election: Election, start: str | datetime = "18:00",
                 end: str | datetime = "18:00", every: str | timedelta = "10m") -> list[datetime]:
    return election.series(start, end, every)


