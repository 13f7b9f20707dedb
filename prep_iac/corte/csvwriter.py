"""The PREP CSV files exactly as the Institute lays them out.

``COAH_AYUN_2021.csv``: the election line, the cut line with its UTC offset, the 13
summary fields and their values, a blank line, the acta header and one row per acta.
Rows of actas not yet captured carry only their keys and LISTA_NOMINAL.
"""

import csv
import io
import random
from dataclasses import dataclass
from datetime import datetime

from prep_iac.corte import catalogue as cat
from prep_iac.corte import summary, timing
from prep_iac.corte.election import Election, Entry
from prep_iac.errors import PrepError

NEWLINES = {"crlf": "\r\n", "lf": "\n", "cr": "\r"}
DELIMITERS = {",": ",", "comma": ",", "|": "|", "pipe": "|"}
ENCODINGS = ("utf-8", "utf-8-sig", "latin-1", "cp1252")


@dataclass(frozen=True)
class CsvFormat:
    """How the files are encoded. The default is an assumption (UTF-8, CRLF, commas), not
    a documented IEC fact: change it here when the Institute's real files say otherwise."""

    encoding: str = "utf-8"
    newline: str = "crlf"
    delimiter: str = ","

    def __post_init__(self):
        if self.encoding not in ENCODINGS:
            raise PrepError(f"unknown encoding {self.encoding!r}", f"use one of {', '.join(ENCODINGS)}")
        if self.newline not in NEWLINES:
            raise PrepError(f"unknown line ending {self.newline!r}", "use crlf, lf or cr")
        if self.delimiter not in DELIMITERS:
            raise PrepError(f"unknown delimiter {self.delimiter!r}", "use ',' or '|'")


def entry_row(election: Election, e: Entry, published: bool) -> list[str]:
    c, a = e.casilla, e.acta
    keys = [c.clave_casilla, c.clave_acta, str(cat.ID_ESTADO), cat.ESTADO, str(c.municipio_id),
            c.municipio, str(c.seccion), str(c.id_casilla), c.tipo, str(c.ext_contigua),
            str(c.ubicacion), c.tipo_acta]
    ln = str(c.lista_nominal) if e.in_catalogue else ""
    n_votes = len(cat.VOTE_COLUMNS) + 2
    if not published:
        return keys + [""] * (4 + n_votes + 2) + [ln] + [""] * 11
    head = a.head or [""] * 4
    votes = a.votes or [""] * n_votes
    sha = election.sha(e) if a.has_image else ""
    acopio, captura, verif = e.stamps
    return (keys + head + votes + [a.asentado, a.calculado, ln, a.representantes,
            a.observaciones, a.contabilizada, a.mecanismo, sha, acopio, captura, verif,
            a.origen, a.digitalizacion, a.tipo_documento])


def cut_rows(election: Election, at: datetime) -> list[list[str]]:
    """Every row of the cut: all catalogue actas (captured or not), then the
    out-of-catalogue actas registered so far."""
    s = election.seconds(at)
    rows = [entry_row(election, e, e.published(s)) for e in election.catalogue]
    rows += [entry_row(election, e, True) for e in election.entries
             if not e.in_catalogue and e.published(s)]
    return rows


def as_dicts(rows: list[list[str]]) -> list[dict[str, str]]:
    return [dict(zip(cat.ACTA_HEADER, r)) for r in rows]


def csv_head(at: datetime, nl: str = "\r\n") -> str:
    """The first two lines of every PREP CSV: the election, then the cut's time (which is
    what makes a folder a cut: onhost/publisher/cutdata.py)."""
    return cat.ELECTION_LINE + nl + timing.cut_line(at) + nl


def render_actas_csv(at: datetime, rows: list[list[str]], fmt: CsvFormat) -> tuple[bytes, dict]:
    """The bytes of COAH_AYUN_2021.csv and the summary it carries."""
    head = summary.compute(as_dicts(rows))
    buf = io.StringIO()
    nl = NEWLINES[fmt.newline]
    w = csv.writer(buf, delimiter=DELIMITERS[fmt.delimiter], lineterminator=nl)
    buf.write(csv_head(at, nl))
    w.writerow(cat.SUMMARY_FIELDS)
    w.writerow([head[k] for k in cat.SUMMARY_FIELDS])
    buf.write(nl)
    w.writerow(cat.ACTA_HEADER)
    w.writerows(rows)
    return encode(buf.getvalue(), fmt), head


def encode(text: str, fmt: CsvFormat) -> bytes:
    # cp1252/latin-1 cannot hold every character; the catalogue only uses ones they have.
    return text.encode(fmt.encoding)


CANDIDATURAS_HEADER = ["ID_ESTADO", "ESTADO", "ID_MUNICIPIO", "MUNICIPIO", "PARTIDO_CI",
                       "CANDIDATURA_PROPIETARIA", "CANDIDATURA_SUPLENTE"]


def candidaturas(election: Election) -> list[list[str]]:
    """Who runs where: every party in every municipality, the coalition and the independent
    where they registered. The names are invented."""
    rng = random.Random(f"{election.seed}:candidaturas")

    def name() -> str:
        return f"{rng.choice(cat.NOMBRES)} {rng.choice(cat.APELLIDOS)} {rng.choice(cat.APELLIDOS)}"

    rows = []
    for mid, mun, _ in cat.MUNICIPIOS:
        prof = election.profiles[mid]
        running = [p for p, _ in cat.PARTIDOS]
        if prof.coalicion:
            running.append(cat.COALICION)
        if prof.independiente:
            running.append(cat.INDEPENDIENTE)
        for party in running:
            rows.append([str(cat.ID_ESTADO), cat.ESTADO, str(mid), mun, party, name(), name()])
    return rows


def render_candidaturas_csv(at: datetime, election: Election, fmt: CsvFormat) -> bytes:
    buf = io.StringIO()
    nl = NEWLINES[fmt.newline]
    w = csv.writer(buf, delimiter=DELIMITERS[fmt.delimiter], lineterminator=nl)
    buf.write(csv_head(at, nl))
    w.writerow(CANDIDATURAS_HEADER)
    w.writerows(candidaturas(election))
    return encode(buf.getvalue(), fmt)
