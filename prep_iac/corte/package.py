"""The database package: the zip with both CSVs and LEEME.txt, byte-identical for a
given cut (fixed member order and timestamps), so re-running a cut changes nothing."""

import io
import zipfile
from datetime import datetime

from prep_iac.corte import catalogue as cat
from prep_iac.corte import timing

ACTAS_CSV = f"COAH_AYUN_{cat.ELECTION_YEAR}.csv"
CANDIDATURAS_CSV = f"COAH_AYUN_CANDIDATURAS_{cat.ELECTION_YEAR}.csv"
LEEME = "LEEME.txt"

LEEME_TEXT = """\
PROGRAMA DE RESULTADOS ELECTORALES PRELIMINARES
PREP COAHUILA {year} - AYUNTAMIENTOS
Corte de información: {corte}

*** SIMULACRO: datos ficticios generados por prep-iac para pruebas y ensayos. ***

Contenido del paquete
  {actas}: una fila por cada acta esperada, más las actas fuera de catálogo registradas.
  {cand}: candidaturas por municipio y partido, coalición o candidatura independiente.
  LEEME.txt: este archivo.

Estructura de {actas}
  Línea 1: elección ({election}).
  Línea 2: fecha y hora del corte, con su desfase respecto de UTC.
  Línea 3: nombres de los 13 campos del resumen; línea 4: sus valores.
  Línea 5: en blanco.
  Línea 6: encabezado de las actas; de la línea 7 en adelante, una fila por acta.

Campos del resumen
  ACTAS_ESPERADAS: actas del catálogo de casillas aprobadas.
  ACTAS_REGISTRADAS: actas capturadas más actas fuera de catálogo.
  ACTAS_FUERA_CATALOGO: actas registradas que no corresponden a una casilla aprobada.
  ACTAS_CAPTURADAS: actas del catálogo capturadas al momento del corte.
  PORCENTAJE_ACTAS_CAPTURADAS: ACTAS_CAPTURADAS / ACTAS_ESPERADAS x 100.
  ACTAS_CONTABILIZADAS: actas capturadas cuyos datos se suman a los resultados.
  PORCENTAJE_ACTAS_CONTABILIZADAS: ACTAS_CONTABILIZADAS / ACTAS_ESPERADAS x 100.
  PORCENTAJE_ACTAS_INCONSISTENCIAS: actas capturadas con alguna observación / ACTAS_ESPERADAS x 100.
  ACTAS_NO_CONTABILIZADAS: actas capturadas que no se contabilizan.
  LISTA_NOMINAL_ACTAS_CONTABILIZADAS: suma de la lista nominal de las actas contabilizadas.
  TOTAL_VOTOS_C_CS: total de votos de las actas contabilizadas, con casillas especiales.
  TOTAL_VOTOS_S_CS: total de votos de las actas contabilizadas, sin casillas especiales.
  PORCENTAJE_PARTICIPACION_CIUDADANA: TOTAL_VOTOS_S_CS / LISTA_NOMINAL_ACTAS_CONTABILIZADAS x 100.
  Los porcentajes se expresan con cuatro decimales, truncados (sin redondeo).

Valores de las actas
  Actas aún no capturadas: sólo claves y LISTA_NOMINAL; los demás campos vacíos.
  ILEGIBLE / SIN DATO: el campo no pudo leerse o no fue llenado; cuenta como cero.
  TOTAL_VOTOS_CALCULADO: suma de votos por partido, coalición, candidatura
    independiente, candidaturas no registradas y nulos.
  OBSERVACIONES: {observaciones}.
  CONTABILIZADA: 1 contabilizada, 0 no contabilizada, 2 fuera de catálogo.
  TIPO_CASILLA: B básica, C contigua, E extraordinaria, S especial (sin lista nominal).
  MECANISMOS_TRASLADO: D, F o I, según el mecanismo de recolección del paquete.
  SHA: código SHA-256 de la imagen del acta (archivo actas/<CLAVE_ACTA>.png del sitio).
  FECHA_HORA_ACOPIO, FECHA_HORA_CAPTURA, FECHA_HORA_VERIFICACION: dd/mm/aaaa HH:MM:SS,
    hora del Instituto.
  ORIGEN: CASILLA (PREP Casilla) o CATD; DIGITALIZACION: MÓVIL o ESCÁNER.
"""


def leeme(at: datetime) -> str:
    kinds = (cat.OBS_ILEGIBLE_ALGUNO, cat.OBS_ILEGIBLE_TODOS, cat.OBS_EXCEDE_LN,
             cat.OBS_SIN_ACTA_PAQUETE, cat.OBS_SIN_ACTA_NO_INSTALADA, cat.OBS_FUERA_CATALOGO)
    obs = ", ".join(kinds)
    return LEEME_TEXT.format(year=cat.ELECTION_YEAR, corte=timing.cut_line(at),
                             actas=ACTAS_CSV, cand=CANDIDATURAS_CSV,
                             election=cat.ELECTION_LINE, observaciones=obs)


def build_zip(at: datetime, actas_csv: bytes, candidaturas_csv: bytes, leeme_bytes: bytes) -> bytes:
    return build_zip_members(at, [(ACTAS_CSV, actas_csv), (CANDIDATURAS_CSV, candidaturas_csv),
                                  (LEEME, leeme_bytes)])


def build_zip_members(at: datetime, members: list[tuple[str, bytes]]) -> bytes:
    """A zip of ``members`` in that order, every entry stamped with the cut's time."""
    buf = io.BytesIO()
    stamp = (at.year, at.month, at.day, at.hour, at.minute, 0)
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, data, compresslevel=6)
    return buf.getvalue()


def read_member(zip_bytes_or_path, name: str = ACTAS_CSV) -> bytes:
    with zipfile.ZipFile(zip_bytes_or_path) as z:
        return z.read(name)
