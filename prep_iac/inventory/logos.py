"""A difusor's logo file (CONV-I.7): the Institute's list shows it as the difusor's link.

A file named in the inventory is judged by `logo.read_logo`, the one logo check (PNG or
JPEG by its content, size, dimensions; SVG refused: opened on its own, an SVG runs its
scripts with the Institute's site as their origin). A URL is the difusor's own hosting:
only its form is checked (types.py).
"""

from prep_iac.inventory.logo import EXTENSIONS, LogoError, read_logo
from prep_iac.inventory.messages import EXAMPLES, Problem
from prep_iac.inventory.types import is_url


def logo_kind(path: str) -> str:
    """The extension the list publishes a usable logo under (.png or .jpg), or ValueError
    saying why it is not usable."""
    try:
        return EXTENSIONS[read_logo(path).kind][0]
    except LogoError as exc:
        raise ValueError(str(exc)) from None


def logo_problems(inventory, doc) -> list[Problem]:
    """Every logo file of an inventory: the difusor's own (`participation.logo`, for its
    file and the list) and the ones the Institute's inventory gives its difusores."""
    places = []
    if inventory.participation is not None:
        places.append((("participation", "logo"), inventory.participation.logo))
    places += [(("difusores", name, "logo"), d.logo) for name, d in inventory.difusores.items()
               if d.logo and not is_url(d.logo)]
    out = []
    for loc, path in places:
        try:
            read_logo(path)
        except LogoError as exc:
            out.append(Problem(str(doc.path), doc.line_of(loc), ".".join(loc), str(exc),
                               EXAMPLES["logo"]))
    return out
