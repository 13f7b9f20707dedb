"""The PREP cut generator: layout, summary, progress, determinism, images, site."""

import hashlib
import re
import struct
import zlib
from datetime import datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest

from prep_iac.corte import Election, csvreader, package, series_times, write_cut
from prep_iac.corte import catalogue as cat
from prep_iac.corte.summary import trunc4

TZ = ZoneInfo("America/Monterrey")
ACTAS = 150


def at(h: int, m: int = 0, day: int = 6) -> datetime:
    return datetime(2021, 6, day, h, m, tzinfo=TZ)


def read_csv(folder):
    data = package.read_member(folder / f"{folder.name}.zip")
    return data, csvreader.parse(data)


@pytest.fixture(scope="module")
def election():
    return Election(seed=11, actas=ACTAS)


@pytest.fixture(scope="module")
def series(election, tmp_path_factory):
    """A whole night, one cut an hour, without images (they have their own tests)."""
    out = tmp_path_factory.mktemp("serie")
    times = series_times(election, "18:00", "18:00", "60m")
    return [(t, read_csv(write_cut(election, t, out, images=False))[1]) for t in times]


@pytest.fixture(scope="module")
def imaged(tmp_path_factory):
    """Two cuts with images, in one output folder."""
    e = Election(seed=5, actas=120, image_kb=4)
    out = tmp_path_factory.mktemp("imgs")
    return e, write_cut(e, at(22), out), write_cut(e, at(1, day=7), out)


# --- time zone and the cut line -------------------------------------------------------

def test_zoneinfo_says_utc_minus_5_for_election_night():
    assert at(20).utcoffset() == timedelta(hours=-5)


@pytest.mark.parametrize("tz,label", [("America/Monterrey", "(UTC-5)"),
                                      ("America/Tijuana", "(UTC-7)")])
def test_cut_line_shows_the_offset(tmp_path, tz, label):
    e = Election(seed=1, actas=60, tz=tz)
    folder = write_cut(e, "2021-06-06 20:00", tmp_path, images=False)
    data, _ = read_csv(folder)
    assert data.split(b"\r\n")[1].decode() == f"06/06/2021 20:00 {label}"
    assert folder.name == "20210606_2000_PREP_AYUN_COAH"


# --- the header block, line by line ---------------------------------------------------

def test_header_block_layout_line_by_line(tmp_path, election):
    folder = write_cut(election, at(23), tmp_path, images=False)
    data, parsed = read_csv(folder)
    assert data.count(b"\r\n") == data.count(b"\n")  # CRLF throughout
    lines = data.decode("utf-8").split("\r\n")
    assert lines[0] == "AYUNTAMIENTOS"
    assert lines[1] == "06/06/2021 23:00 (UTC-5)"
    assert lines[2] == (
        "ACTAS_ESPERADAS,ACTAS_REGISTRADAS,ACTAS_FUERA_CATALOGO,ACTAS_CAPTURADAS,"
        "PORCENTAJE_ACTAS_CAPTURADAS,ACTAS_CONTABILIZADAS,PORCENTAJE_ACTAS_CONTABILIZADAS,"
        "PORCENTAJE_ACTAS_INCONSISTENCIAS,ACTAS_NO_CONTABILIZADAS,"
        "LISTA_NOMINAL_ACTAS_CONTABILIZADAS,TOTAL_VOTOS_C_CS,TOTAL_VOTOS_S_CS,"
        "PORCENTAJE_PARTICIPACION_CIUDADANA")
    values = lines[3].split(",")
    assert len(values) == 13
    assert all(re.fullmatch(r"\d+(\.\d{4})?", v) for v in values)
    assert values[0] == str(ACTAS)
    assert lines[4] == ""
    header = lines[5].split(",")
    assert header[:16] == [
        "CLAVE_CASILLA", "CLAVE_ACTA", "ID_ESTADO", "ESTADO", "ID_MUNICIPIO", "MUNICIPIO",
        "SECCION", "ID_CASILLA", "TIPO_CASILLA", "EXT_CONTIGUA", "UBICACION_CASILLA",
        "TIPO_ACTA", "TOTAL_BOLETAS_SOBRANTES", "TOTAL_PERSONAS_VOTARON",
        "TOTAL_REP_PARTIDO_CI_VOTARON", "TOTAL_VOTOS_SACADOS"]
    assert header[16:16 + len(cat.VOTE_COLUMNS)] == cat.VOTE_COLUMNS
    assert header[16 + len(cat.VOTE_COLUMNS):] == [
        "NO_REGISTRADOS", "NULOS", "TOTAL_VOTOS_ASENTADO", "TOTAL_VOTOS_CALCULADO",
        "LISTA_NOMINAL", "REPRESENTANTES_PP_CI", "OBSERVACIONES", "CONTABILIZADA",
        "MECANISMOS_TRASLADO", "SHA", "FECHA_HORA_ACOPIO", "FECHA_HORA_CAPTURA",
        "FECHA_HORA_VERIFICACION", "ORIGEN", "DIGITALIZACION", "TIPO_DOCUMENTO"]
    assert lines[-1] == ""  # the file ends with a line ending
    rows = lines[6:-1]
    fuera = int(values[2])
    assert len(rows) == ACTAS + fuera
    assert all(len(r) == len(header) for r in parsed.rows)
    assert len(parsed.header) == len(header)


def test_rows_not_captured_are_empty_but_keys_and_lista_nominal(series):
    _, parsed = series[2]  # 20:00: most actas still missing
    empty = [r for r in parsed.rows if not r["FECHA_HORA_CAPTURA"]]
    assert empty
    keep = set(cat.KEY_COLUMNS) | {"LISTA_NOMINAL"}
    for r in empty:
        assert all(v == "" for k, v in r.items() if k not in keep), r
        assert r["CLAVE_ACTA"].startswith("'") and r["LISTA_NOMINAL"].isdigit()


def test_formats_of_captured_rows(series):
    _, parsed = series[-1]
    done = [r for r in parsed.rows if r["FECHA_HORA_CAPTURA"]]
    assert {r["TIPO_CASILLA"] for r in done} <= {"B", "C", "E", "S"}
    for r in done:
        for col in ("FECHA_HORA_ACOPIO", "FECHA_HORA_CAPTURA", "FECHA_HORA_VERIFICACION"):
            assert re.fullmatch(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2}", r[col])
        assert r["SHA"] == "" or re.fullmatch(r"[0-9a-f]{64}", r["SHA"])
        assert r["CONTABILIZADA"] in ("0", "1", "2")


# --- the summary: recomputed, truncated -----------------------------------------------

def _recompute(rows):
    """An independent recomputation, written from the field definitions."""
    cat_rows = [r for r in rows if r["CONTABILIZADA"] != "2"]
    capt = [r for r in cat_rows if r["FECHA_HORA_CAPTURA"]]
    cont = [r for r in capt if r["CONTABILIZADA"] == "1"]
    num = lambda v: int(v) if v.isdigit() else 0
    ln = sum(num(r["LISTA_NOMINAL"]) for r in cont)
    s_cs = sum(num(r["TOTAL_VOTOS_CALCULADO"]) for r in cont if r["TIPO_CASILLA"] != "S")

    def pct(a, b):
        if not b:
            return "0.0000"
        v = Fraction(a * 100, b)
        whole = v.numerator // v.denominator
        dec = int((v - whole) * 10_000)
        return f"{whole}.{dec:04d}"

    return {
        "ACTAS_ESPERADAS": str(len(cat_rows)),
        "ACTAS_REGISTRADAS": str(len(capt) + len(rows) - len(cat_rows)),
        "ACTAS_FUERA_CATALOGO": str(len(rows) - len(cat_rows)),
        "ACTAS_CAPTURADAS": str(len(capt)),
        "PORCENTAJE_ACTAS_CAPTURADAS": pct(len(capt), len(cat_rows)),
        "ACTAS_CONTABILIZADAS": str(len(cont)),
        "PORCENTAJE_ACTAS_CONTABILIZADAS": pct(len(cont), len(cat_rows)),
        "PORCENTAJE_ACTAS_INCONSISTENCIAS": pct(sum(1 for r in capt if r["OBSERVACIONES"]), len(cat_rows)),
        "ACTAS_NO_CONTABILIZADAS": str(len(capt) - len(cont)),
        "LISTA_NOMINAL_ACTAS_CONTABILIZADAS": str(ln),
        "TOTAL_VOTOS_C_CS": str(sum(num(r["TOTAL_VOTOS_CALCULADO"]) for r in cont)),
        "TOTAL_VOTOS_S_CS": str(s_cs),
        "PORCENTAJE_PARTICIPACION_CIUDADANA": pct(s_cs, ln),
    }


def test_summary_equals_recomputation_on_every_cut(series):
    assert len(series) == 25
    for moment, parsed in series:
        assert parsed.summary == _recompute(parsed.rows), moment


@pytest.mark.parametrize("num,den,expected", [
    (1, 3, "33.3333"), (2, 3, "66.6666"), (1, 1, "100.0000"), (0, 7, "0.0000"),
    (199_999, 200_000, "99.9995"), (1, 0, "0.0000"), (2_999_999, 3_000_000, "99.9999"),
])
def test_percentages_are_truncated_to_4_decimals(num, den, expected):
    assert trunc4(num, den) == expected


def test_percentages_in_the_files_are_truncated(series):
    seen_truncation = False
    for _, parsed in series:
        s = parsed.summary
        esperadas = int(s["ACTAS_ESPERADAS"])
        capt = int(s["ACTAS_CAPTURADAS"])
        assert re.fullmatch(r"\d+\.\d{4}", s["PORCENTAJE_ACTAS_CAPTURADAS"])
        exact = Fraction(capt * 100, esperadas)
        shown = Fraction(s["PORCENTAJE_ACTAS_CAPTURADAS"])
        assert shown <= exact < shown + Fraction(1, 10_000)
        rounded = f"{float(exact):.4f}"
        seen_truncation |= rounded != s["PORCENTAJE_ACTAS_CAPTURADAS"]
    assert seen_truncation  # some cut where rounding would have shown another value


def test_votes_add_up_on_consistent_actas(series):
    _, parsed = series[-1]
    parts = cat.VOTE_COLUMNS + ["NO_REGISTRADOS", "NULOS"]
    consistent = [r for r in parsed.rows if r["FECHA_HORA_CAPTURA"] and not r["OBSERVACIONES"]]
    assert len(consistent) > ACTAS * 0.8
    for r in consistent:
        assert all(r[c].isdigit() for c in parts)
        assert int(r["TOTAL_VOTOS_CALCULADO"]) == sum(int(r[c]) for c in parts)


def test_some_actas_are_odd_like_on_a_real_night():
    e = Election(seed=3, actas=4000)
    obs = [en.acta.observaciones for en in e.catalogue]
    assert obs.count(cat.OBS_ILEGIBLE_ALGUNO) > 40
    assert any(o.startswith("SIN ACTA") for o in obs)
    assert len(e.entries) - len(e.catalogue) >= 2  # out-of-catalogue actas
    assert len(e.catalogue) == 4000
    assert {en.casilla.tipo for en in e.catalogue} == {"B", "C", "E", "S"}
    assert len({en.casilla.municipio_id for en in e.catalogue}) == 38


# --- progress over the night ---------------------------------------------------------

def test_progress_is_monotone_and_each_cut_contains_the_previous(series):
    prev_rows: dict[str, dict] = {}
    prev_capt = -1
    for moment, parsed in series:
        capt = int(parsed.summary["ACTAS_CAPTURADAS"])
        assert capt >= prev_capt, moment
        prev_capt = capt
        rows = {r["CLAVE_ACTA"]: r for r in parsed.rows if r["FECHA_HORA_CAPTURA"]}
        for key, row in prev_rows.items():
            assert rows.get(key) == row, (moment, key)  # still there, unchanged
        prev_rows = rows


def test_progress_follows_a_realistic_curve(series):
    pct = {m.strftime("%d %H:%M"): float(p.summary["PORCENTAJE_ACTAS_CAPTURADAS"])
           for m, p in series}
    assert pct["06 18:00"] == 0
    assert pct["06 20:00"] < 20
    assert pct["07 02:00"] - pct["06 21:00"] > 50  # the bulk between 21:00 and 02:00
    assert 90 < pct["07 06:00"] < 100
    assert pct["07 18:00"] > 97


# --- determinism --------------------------------------------------------------------

def test_same_seed_same_bytes(tmp_path):
    # Enough images (> 64) that they are made by two threads.
    a = write_cut(Election(seed=9, actas=200, image_kb=2), at(2, day=7), tmp_path / "a")
    b = write_cut(Election(seed=9, actas=200, image_kb=2), at(2, day=7), tmp_path / "b")
    assert len(list((a / "actas").iterdir())) > 64
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert files_a == files_b
    for rel in files_a:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    c = write_cut(Election(seed=10, actas=200, image_kb=2), at(2, day=7), tmp_path / "c")
    assert read_csv(a)[0] != read_csv(c)[0]


# --- images ----------------------------------------------------------------------------

def _png_pixels(data: bytes) -> tuple[int, int, bytes]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, w, h = 8, b"", 0, 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        assert struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])[0] == zlib.crc32(kind + body)
        if kind == b"IHDR":
            w, h = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    return w, h, zlib.decompress(idat)


def test_image_hashes_match_the_csv(imaged):
    _, first, second = imaged
    for folder in (first, second):
        _, parsed = read_csv(folder)
        with_sha = [r for r in parsed.rows if r["SHA"]]
        assert with_sha
        for r in with_sha:
            img = folder / "actas" / (r["CLAVE_ACTA"].strip("'") + ".png")
            assert hashlib.sha256(img.read_bytes()).hexdigest() == r["SHA"]
        assert len(list((folder / "actas").iterdir())) == len(with_sha)


def test_images_are_valid_pngs_of_the_requested_size(imaged, tmp_path):
    _, first, _ = imaged
    for img in (first / "actas").iterdir():  # zlib checks each stream's Adler-32 too
        w, h, raw = _png_pixels(img.read_bytes())
        assert len(raw) == h * (w // 8 + 1)
    e = Election(seed=5, actas=60, image_kb=100)
    big = write_cut(e, at(2, day=7), tmp_path)
    sizes = [p.stat().st_size for p in (big / "actas").iterdir()]
    assert all(95_000 < s < 110_000 for s in sizes)
    # Incompressible like a scan: deflate saves little.
    data = next((big / "actas").iterdir()).read_bytes()
    assert len(zlib.compress(data, 9)) > 0.9 * len(data)


def test_images_of_earlier_cuts_stay_byte_identical(imaged):
    _, first, second = imaged
    before = {p.name: p.read_bytes() for p in (first / "actas").iterdir()}
    after = {p.name: p.read_bytes() for p in (second / "actas").iterdir()}
    assert set(before) < set(after)
    assert all(after[n] == b for n, b in before.items())


def test_a_cut_folder_is_self_contained(imaged):
    _, _, folder = imaged
    files = list(folder.rglob("*"))
    assert not any(p.is_symlink() for p in files)
    assert {"index.html", "estilo.css", f"{folder.name}.zip", "datos", "actas"} <= {p.name for p in folder.iterdir()}
    assert len(list(folder.glob("municipio_*.html"))) == 38
    for page in list(folder.glob("*.html")) + [folder / "estilo.css"]:
        text = page.read_text("utf-8")
        assert "<script" not in text and "http://" not in text and "https://" not in text
        assert "style=" not in text  # no inline styles: fine under a strict CSP
        assert "@import" not in text and "@font-face" not in text
        for link in re.findall(r'(?:href|src)="([^"]*)"', text):
            assert not link.startswith("/") and ".." not in link and ":" not in link, link
            assert (folder / link).exists(), (page.name, link)
    index = (folder / "index.html").read_text("utf-8")
    assert 'lang="es"' in index and "viewport" in index
    assert "7 de junio de 2021, 01:00 h (UTC-5)" in index
    _, parsed = read_csv(folder)
    assert parsed.summary["PORCENTAJE_ACTAS_CAPTURADAS"] + "%" in index


# --- the API the drill uses -----------------------------------------------------------

def test_published_between_is_the_delta(election):
    early, late = at(22), at(23)
    before = {e.casilla.clave_acta for e in election.published(early)}
    after = {e.casilla.clave_acta for e in election.published(late)}
    new = {e.casilla.clave_acta for e in election.published_between(early, late)}
    assert before <= after and new == after - before and new


def test_prepare_images_fills_the_store_so_cuts_only_link(tmp_path):
    from prep_iac.corte import prepare_images
    from prep_iac.corte.cut import MARKER

    e = Election(seed=4, actas=60, image_kb=1)
    n = prepare_images(e, tmp_path)
    store = next((tmp_path / MARKER / "actas").iterdir())
    assert n == len(list(store.iterdir())) > 50
    folder = write_cut(e, at(18, day=7), tmp_path)
    for img in (folder / "actas").iterdir():
        assert img.stat().st_ino == (store / img.name).stat().st_ino  # a hard link, not a copy
    first = read_csv(folder)[0]
    # Another process (a new Election) reuses the store and gets the same hashes.
    again = write_cut(Election(seed=4, actas=60, image_kb=1), at(18, day=7), tmp_path)
    assert again == folder and read_csv(again)[0] == first


def test_the_publisher_can_sign_a_cut_as_written(imaged):
    manifest = pytest.importorskip("prep_iac.onhost.publisher.manifest")
    _, _, folder = imaged
    m = manifest.build(folder)
    assert m.cut_id == folder.name and m.timestamp.startswith("2021-06-07T01:00:00-05:00")
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert {e.path for e in m.entries} == on_disk
