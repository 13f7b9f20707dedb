"""Acta images: small real PNGs of a rendered acta form, deterministic per acta.

A 1-bit page like a bitonal document scanner makes: the form (title, acta key, casilla,
one line per party with its votes) on top, and below it the signatures-and-seals band,
drawn as speckle noise. The noise band sets the file size (``image_kb``) and keeps the
file incompressible, like a real scan; the form part is deflated. The noise is stored in
deflate "stored" blocks written by hand, so a big image costs a copy, not a compression.
"""

import random
import struct
import zlib

from prep_iac.corte import catalogue as cat
from prep_iac.corte.font import PLAIN, glyph_rows_2x

WIDTH = 512
ROW = WIDTH // 8 + 1  # bytes per PNG row: the filter byte, then 1 bit per pixel
LINE = 22  # pixels per text line (even, see _draw)
FORM_LINES = 27
FORM_HEIGHT = 24 + LINE * FORM_LINES  # even
VALUE_COL = 24  # byte column of the numbers (pixel 384)
LABEL_COL = 2

_GLYPHS: dict[str, list[bytes]] = {}
_TEXT: dict[str, list[bytes]] = {}
_BASE: dict[tuple[int, int], bytes] = {}

LABELS = [*cat.VOTE_COLUMNS, "NO REG.", "NULOS"]  # labels end before VALUE_COL


def _text_rows(text: str) -> list[bytes]:
    rows = _TEXT.get(text)
    if rows is None:
        plain = text.upper().translate(PLAIN)
        glyphs = []
        for ch in plain:
            g = _GLYPHS.get(ch)
            if g is None:
                g = _GLYPHS[ch] = glyph_rows_2x(ch)
            glyphs.append(g)
        rows = [b"".join(r) for r in zip(*glyphs)] if glyphs else [b""] * 7
        if len(_TEXT) < 50_000:
            _TEXT[text] = rows
    return rows


def _draw(buf: bytearray, line: int, col: int, text: str, dy: int) -> None:
    # Only even rows are drawn: every odd row of the form is a PNG "Up" row of zeros,
    # i.e. a copy of the row above, which doubles the glyphs' height for free.
    text = text[:(ROW - 1 - col) // 2]
    off = (8 + 2 * dy + line * LINE) * ROW + 1 + col
    for row in _text_rows(text):
        buf[off:off + len(row)] = row
        off += 2 * ROW


VALUE_CHARS = 5
_COLS: dict[str, list[bytes]] = {}


def _value_columns(text: str) -> list[bytes]:
    """A number as byte columns: for each of its 10 byte columns, the 11 even rows of one
    text line (7 glyph rows, 4 of gap). The whole value column of a form is then drawn
    with one strided slice assignment per byte column instead of one per pixel row."""
    cols = _COLS.get(text)
    if cols is None:
        rows = _text_rows(text[:VALUE_CHARS].ljust(VALUE_CHARS))
        gap = b"\xff" * (LINE // 2 - 7)
        cols = [bytes(c) + gap for c in zip(*rows)]
        _COLS[text] = cols
    return cols


def _draw_values(buf: bytearray, first_line: int, col: int, values: list[str], dy: int) -> None:
    cols = [_value_columns(v) for v in values]
    step = 2 * ROW
    start = (8 + 2 * dy + first_line * LINE) * ROW + 1 + col
    stop_len = len(values) * (LINE // 2) * step
    for j, column in enumerate(zip(*cols)):
        buf[start + j:start + j + stop_len:step] = b"".join(column)


def _rule(buf: bytearray, line: int, dy: int) -> None:
    y = 8 + 2 * dy + line * LINE - 4
    buf[y * ROW + 2:y * ROW + ROW - 1] = b"\x00" * (ROW - 3)


def _base(dx: int, dy: int) -> bytes:
    """The static part of the form (titles, labels, rules) at a small offset, cached."""
    key = (dx, dy)
    base = _BASE.get(key)
    if base is None:
        even = b"\x00" + b"\xff" * (ROW - 1)  # filter None, white paper
        odd = b"\x02" + bytes(ROW - 1)  # filter Up, no change: a copy of the row above
        buf = bytearray((even + odd) * (FORM_HEIGHT // 2))
        _draw(buf, 0, 2 + dx, "ACTA PREP AYUNTAMIENTO", dy)
        _draw(buf, 1, 2 + dx, "PROCESO ELECTORAL LOCAL 2021", dy)
        _draw(buf, 2, 2 + dx, "INSTITUTO ELECTORAL COAHUILA", dy)
        _rule(buf, 7, dy)
        for i, label in enumerate(LABELS):
            _draw(buf, 7 + i, LABEL_COL + dx, label.replace("_", " "), dy)
        _rule(buf, 7 + len(LABELS), dy)
        _draw(buf, 7 + len(LABELS), LABEL_COL + dx, "TOTAL", dy)
        _draw(buf, 9 + len(LABELS), LABEL_COL + dx, "FIRMAS Y SELLOS:", dy)
        base = _BASE[key] = bytes(buf)
    return base


# Rows above the first and below the last line that changes from acta to acta: their
# deflated bytes are made once per form offset and reused (deflate segments ended with a
# sync flush can be concatenated), so each image compresses only its middle band.
TOP = 8 + 4 * LINE - 4
BOTTOM = 8 + 23 * LINE
_BANDS: dict[tuple[int, int], tuple[bytes, int, bytes, bytes]] = {}


def _deflate(data) -> bytes:
    c = zlib.compressobj(1, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)


def _bands(dx: int, dy: int) -> tuple[bytes, int, bytes, bytes]:
    """(deflated top, adler32 of top, raw bottom, deflated bottom) of a form offset."""
    hit = _BANDS.get((dx, dy))
    if hit is None:
        base = _base(dx, dy)
        top, bottom = base[:TOP * ROW], base[BOTTOM * ROW:]
        hit = _BANDS[(dx, dy)] = (_deflate(top), zlib.adler32(top), bottom, _deflate(bottom))
    return hit


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(
        ">I", zlib.crc32(data, zlib.crc32(kind)))


class NoisePool:
    """Speckle rows for the signatures band: one block of random bits per election,
    with the PNG filter byte already in place. Each image takes one of ``VARIANTS``
    slices of it (chosen by its name), whose Adler-32 is computed once and combined."""

    VARIANTS = 256

    def __init__(self, seed: str, band_rows: int):
        self.band_rows = band_rows
        self.pool_rows = band_rows + self.VARIANTS * 16
        data = bytearray(random.Random(seed).randbytes(self.pool_rows * ROW))
        data[0::ROW] = bytes(self.pool_rows)
        self.data = bytes(data)
        self._adler: dict[int, int] = {}

    def band(self, name: str) -> tuple[memoryview, int]:
        """The band of an image and its Adler-32."""
        variant = zlib.crc32(name.encode()) % self.VARIANTS
        start = variant * 16 * ROW
        view = memoryview(self.data)[start:start + self.band_rows * ROW]
        adler = self._adler.get(variant)
        if adler is None:
            adler = self._adler[variant] = zlib.adler32(view)
        return view, adler


def adler32_combine(adler1: int, adler2: int, len2: int) -> int:
    """Adler-32 of A+B from those of A and B (zlib's adler32_combine, which Python lacks)."""
    base = 65521
    rem = len2 % base
    s1 = ((adler1 & 0xFFFF) + (adler2 & 0xFFFF) + base - 1) % base
    s2 = (rem * (adler1 & 0xFFFF) + (adler1 >> 16) + (adler2 >> 16) + base - rem) % base
    return s1 | (s2 << 16)


def band_rows(image_kb: int) -> int:
    return max(16, (image_kb * 1024 - 2600) // ROW)


def _stored_blocks(data: memoryview) -> list[bytes | memoryview]:
    out: list[bytes | memoryview] = []
    for i in range(0, len(data), 65535):
        part = data[i:i + 65535]
        n = len(part)
        out.append(b"\x00" + struct.pack("<HH", n, n ^ 0xFFFF))
        out.append(part)
    out.append(b"\x01\x00\x00\xff\xff")  # the final, empty block
    return out


def render(pool: NoisePool, name: str, key: str, municipio: str, casilla: str,
           values: list[str], total: str) -> bytes:
    """The PNG bytes of one acta."""
    h = zlib.crc32(name.encode())
    dx, dy = h % 3, (h >> 4) % 4
    buf = bytearray(_base(dx, dy))
    _draw(buf, 4, 2 + dx, "CLAVE " + key, dy)
    _draw(buf, 5, 2 + dx, municipio, dy)
    _draw(buf, 6, 2 + dx, casilla, dy)
    _draw_values(buf, 7, VALUE_COL + dx, [*values, total], dy)
    _rule(buf, 7 + len(values), dy)  # the gap rows just drawn crossed the TOTAL rule
    # A few specks of dust so no two scans of the same form are alike.
    x = h
    for _ in range(12):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF  # a tiny LCG: cheap and deterministic
        row = TOP + 2 * ((x >> 8) % ((BOTTOM - TOP) // 2))
        buf[row * ROW + 1 + (x % (ROW - 1))] &= x >> 16 & 0xFF
    top_z, top_adler, bottom, bottom_z = _bands(dx, dy)
    middle = memoryview(buf)[TOP * ROW:BOTTOM * ROW]
    band, band_adler = pool.band(name)
    form_adler = zlib.adler32(bottom, zlib.adler32(middle, top_adler))
    adler = adler32_combine(form_adler, band_adler, len(band))
    parts: list[bytes | memoryview] = [b"\x78\x01", top_z, _deflate(middle), bottom_z]
    parts += _stored_blocks(band)
    parts.append(struct.pack(">I", adler))
    idat = b"".join(parts)
    height = FORM_HEIGHT + pool.band_rows
    ihdr = struct.pack(">IIBBBBB", WIDTH, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(
        b"IEND", b"")


def acta_png(election, entry) -> bytes:
    """The image of one entry of an Election (same bytes every time)."""
    pool = election.noise_pool()
    c, a = entry.casilla, entry.acta
    written = [str(v) for v in a.written] or ["-"] * len(LABELS)
    total = str(sum(a.written)) if a.written else "-"
    casilla = f"SECCION {c.seccion:04d} CASILLA {c.tipo}{c.id_casilla:02d}"
    if c.ext_contigua:
        casilla += f"C{c.ext_contigua:02d}"
    return render(pool, c.image_name, c.clave_acta.strip("'"), c.municipio, casilla,
                  written, total)
