"""The example inventories' text for tests that write a changed copy elsewhere: the
participation's logo is named relative to the example, so the copy names it absolutely."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_LOGO = REPO / "inventories" / "logo-ejemplo.png"


def example_text(path: Path) -> str:
    return path.read_text().replace("logo: logo-ejemplo.png", f"logo: {EXAMPLE_LOGO}")
