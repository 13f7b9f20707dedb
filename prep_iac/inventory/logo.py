"""The logo the Institute's public list of difusores shows as each difusor's link (CONV-I.7):
checked when the inventory is loaded, so a logo the list cannot use never reaches the file.

PNG or JPEG only. An SVG is an XML document: it can carry scripts, event handlers, links to
other files and entity expansions, and making one safe takes a sanitizer with an allow-list;
a PNG or JPEG is pixels and cannot run anything, and every logo exists in one of them.

The limits suit a list page that thousands open on election night and that shows each logo
about 60 px high: at most MAX_BYTES, each side from MIN_SIDE to MAX_SIDE px, no wider than
MAX_RATIO times its height nor taller than twice its width (docs/expediente.md).

Only the headers are read (standard library, no image decoder): the signature, the size
fields, and the end marker that a truncated file lacks.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

MAX_BYTES = 256 * 1024
MIN_SIDE = 48
MAX_SIDE = 1024
MAX_RATIO = 6.0  # width / height
MIN_RATIO = 0.5
EXTENSIONS = {"png": (".png",), "jpeg": (".jpg", ".jpeg")}
MEDIA_TYPES = {"png": "image/png", "jpeg": "image/jpeg"}

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"
# JPEG start-of-frame markers (they hold the size); C4, C8 and CC are other segments.
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


@dataclass(frozen=True)
class Logo:
    path: Path
    kind: str  # "png" or "jpeg"
    width: int
    height: int
    size: int  # bytes

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.kind]


class LogoError(ValueError):
    """What is wrong with a logo file, in one sentence."""


def read_logo(path: str | Path) -> Logo:
    """The logo's format and dimensions, or LogoError saying what is wrong and what to do."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise LogoError(f"logo {path} does not exist") from None
    except IsADirectoryError:
        raise LogoError(f"logo {path} is a folder, not an image file") from None
    except OSError as exc:
        raise LogoError(f"cannot read logo {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise LogoError(f"logo {path} weighs {len(data) / 1024:.0f} KiB, more than "
                        f"{MAX_BYTES // 1024} KiB: export it smaller (the public list loads "
                        "every logo)")
    kind, width, height = _dimensions(path, data)
    if path.suffix.lower() not in EXTENSIONS[kind]:
        named = f"named {path.suffix}" if path.suffix else "without extension"
        raise LogoError(f"logo {path} is a {kind.upper()} image {named}: name it "
                        f"{EXTENSIONS[kind][0]} (the list serves it by its extension)")
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        raise LogoError(f"logo {path} is {width}×{height} px: each side must be from {MIN_SIDE} "
                        f"to {MAX_SIDE} px")
    ratio = width / height
    if not MIN_RATIO <= ratio <= MAX_RATIO:
        raise LogoError(f"logo {path} is {width}×{height} px: at most {MAX_RATIO:g} times wider "
                        "than high and at most twice as high as wide, to fit the list's row")
    return Logo(path, kind, width, height, len(data))


def _dimensions(path: Path, data: bytes) -> tuple[str, int, int]:
    if data.startswith(_PNG_SIGNATURE):
        if len(data) < 33 or data[12:16] != b"IHDR":
            raise LogoError(f"logo {path} is a damaged PNG (no IHDR header)")
        if not data.endswith(_PNG_END):
            raise LogoError(f"logo {path} is a truncated PNG (no IEND at its end)")
        width, height = struct.unpack(">II", data[16:24])
        return "png", width, height
    if data.startswith(b"\xff\xd8"):
        return ("jpeg", *_jpeg_size(path, data))
    head = data[:256].lstrip().lower()
    if head.startswith((b"<?xml", b"<svg")) or b"<svg" in head:
        raise LogoError(f"logo {path} is an SVG: give a PNG or JPEG (an SVG can carry scripts "
                        "and links to other files; export the logo as PNG)")
    raise LogoError(f"logo {path} is neither a PNG nor a JPEG image")


def _jpeg_size(path: Path, data: bytes) -> tuple[int, int]:
    if not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
        raise LogoError(f"logo {path} is a truncated JPEG (no end marker)")
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            break
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        (length,) = struct.unpack(">H", data[i + 2:i + 4])
        if marker in _SOF and i + 9 <= len(data):
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            return width, height
        i += 2 + length
    raise LogoError(f"logo {path} is a damaged JPEG (no frame header with its size)")
