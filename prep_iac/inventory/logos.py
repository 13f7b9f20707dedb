"""A difusor's logo file (CONV-I.7): the Institute's list shows it as the difusor's link.

A file named in the inventory must be a PNG or a JPEG (read by its first bytes, not its
name) of at most MAX_BYTES. SVG is refused: opened on its own, an SVG runs its scripts with
the Institute's site as their origin. A URL is the difusor's own hosting: only its form is
checked (types.py).
"""

from pathlib import Path

from prep_iac.inventory.messages import Problem
from prep_iac.inventory.types import is_url

MAX_BYTES = 512 * 1024
# first bytes -> the extension the list publishes the file under
FORMATS = {b"\x89PNG\r\n\x1a\n": ".png", b"\xff\xd8\xff": ".jpg"}


def logo_kind(path: str) -> str:
    """The extension of a usable logo file (.png or .jpg), or ValueError saying why not."""
    try:
        size = Path(path).stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
    except FileNotFoundError:
        raise ValueError(f"logo {path} does not exist") from None
    except OSError as exc:
        raise ValueError(f"logo {path} cannot be read: {exc.strerror}") from None
    if size > MAX_BYTES:
        raise ValueError(f"logo {path} is {size // 1024} KiB: the list takes at most "
                         f"{MAX_BYTES // 1024} KiB (export it smaller)")
    for magic, ext in FORMATS.items():
        if head.startswith(magic):
            return ext
    raise ValueError(f"logo {path} is not a PNG or a JPEG (SVG and other formats are refused: "
                     "export it as PNG)")


def logo_problems(inventory, doc) -> list[Problem]:
    out = []
    for name, difusor in inventory.difusores.items():
        if not difusor.logo or is_url(difusor.logo):
            continue
        try:
            logo_kind(difusor.logo)
        except ValueError as exc:
            loc = ("difusores", name, "logo")
            out.append(Problem(str(doc.path), doc.line_of(loc), f"difusores.{name}.logo",
                               str(exc)))
    return out
