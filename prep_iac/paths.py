"""Where the project's own files live, in a checkout and in an installed wheel alike."""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
# In a checkout the deploy files sit beside the package; an installed wheel has none.
REPO_DIR = PACKAGE_DIR.parent
DEPLOYS_DIR = REPO_DIR / "deploys"
INVENTORIES_DIR = REPO_DIR / "inventories"


def template(*parts: str) -> str:
    """Absolute path of a template file, for pyinfra's files.template."""
    path = TEMPLATES_DIR.joinpath(*parts)
    if not path.is_file():
        raise FileNotFoundError(f"template {path} is missing from the package")
    return str(path)
