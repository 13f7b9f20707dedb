"""report.pdf: report.html itself, laid out for print by WeasyPrint (Letter pages, margins and
page numbers from the template's @page and @media print rules). Same text, tables, method
notes and figures as the HTML: the PDF is never built on its own. The expediente's
documents (prep_iac/expediente/build.py) are printed the same way, by render() below.

WeasyPrint is in the `report` extra and needs Pango at run time (Debian: libpango-1.0-0,
libpangoft2-1.0-0, and a font such as fonts-dejavu-core).
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

from prep_iac.errors import PrepError

DEBIAN_PACKAGES = "libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core"
PRELOAD_THREAD = "weasyprint-import"


def require(what: str = "report.pdf"):
    """The weasyprint module, or a PrepError that says what to install. `what` names the
    PDF asked for (the memoria's report, the expediente's documents)."""
    try:
        import weasyprint
    except ModuleNotFoundError as exc:
        if exc.name != "weasyprint":  # one of its own dependencies
            raise PrepError(f"{what} needs WeasyPrint, whose dependency {exc.name} is not "
                            "installed", "pip install 'prep-iac[report]' (or use --no-pdf)"
                            ) from None
        raise PrepError(f"{what} needs WeasyPrint, which is not installed",
                        "pip install 'prep-iac[report]' (or use --no-pdf)") from None
    except OSError as exc:  # its C libraries (Pango) are missing: cffi cannot load them
        raise PrepError(f"{what} needs WeasyPrint's system libraries: {exc}",
                        f"apt-get install {DEBIAN_PACKAGES} (with pip install "
                        "'prep-iac[report]'), or use --no-pdf") from None
    return weasyprint


def preload(what: str = "report.pdf") -> None:
    """Start importing WeasyPrint (~0.3 s, most of it Pango's bindings) on a thread, so that
    it overlaps the parse; render() then finds it imported. A WeasyPrint that is not
    installed is said at once; one that fails to load (Pango missing) when render() imports
    it, with require()'s message."""
    if importlib.util.find_spec("weasyprint") is None:
        require(what)  # raises its PrepError
    if not any(t.name == PRELOAD_THREAD for t in threading.enumerate()):
        # Not a daemon: the interpreter never exits halfway through loading a C library.
        threading.Thread(target=_import_quietly, name=PRELOAD_THREAD).start()


def _import_quietly() -> None:
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError):
        pass  # render()'s own import raises it again, as require() words it


def render(html: str, path: Path) -> None:
    """Write a PDF (report.pdf, an expediente's document) from its HTML's text. The HTML is self-contained, so WeasyPrint
    may fetch nothing but its data: URLs (the figures): no file or network access, whatever
    the logs put in the page."""
    weasyprint = require()
    from weasyprint.urls import URLFetcher

    tmp = path.with_name(path.name + ".tmp")
    weasyprint.HTML(string=html, media_type="print",
                    url_fetcher=URLFetcher(allowed_protocols=["data"])).write_pdf(tmp)
    tmp.replace(path)
