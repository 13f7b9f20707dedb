"""This machine's own Debian mirror, read from its apt sources at run time.

The lab never names a mirror itself: the base image and the apt proxy use whatever archive
the controller already trusts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from prep_iac.errors import PrepError

SOURCES_DIR = Path("/etc/apt/sources.list.d")
SOURCES_LIST = Path("/etc/apt/sources.list")


@dataclass(frozen=True)
class Mirror:
    debian: str  # archive URI, e.g. http://host/debian (no trailing slash)
    security: str | None  # security archive URI, when the machine has one

    def sources(self, release: str) -> list[str]:
        """One-line apt sources for ``release`` (what mmdebstrap writes into the base)."""
        lines = [f"deb {self.debian} {release} main", f"deb {self.debian} {release}-updates main"]
        if self.security:
            lines.append(f"deb {self.security} {release}-security main")
        return lines

    def backend(self) -> str:
        """apt-cacher-ng's Debian backend line (it wants the trailing slash)."""
        return self.debian + "/"


def _deb822_entries(text: str):
    """(uris, suites) of every enabled deb stanza of a .sources file."""
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
        if "deb" not in fields.get("types", "").split():
            continue
        if fields.get("enabled", "yes").lower() == "no":
            continue
        yield fields.get("uris", "").split(), fields.get("suites", "").split()


def _one_line_entries(text: str):
    for line in text.splitlines():
        parts = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
        if len(parts) >= 3 and parts[0] == "deb":
            yield [parts[1]], [parts[2]]


def parse_sources(files: dict[str, str]) -> Mirror:
    """Find the Debian and security archives among apt source files (name -> text)."""
    debian = security = None
    for name, text in sorted(files.items()):
        if name.endswith(".sources"):
            entries = _deb822_entries(text)
        elif name.endswith(".list"):
            entries = _one_line_entries(text)
        else:
            continue
        for uris, suites in entries:
            for uri in uris:
                uri = uri.rstrip("/")
                if any(s.endswith("-security") or "/updates" in s for s in suites):
                    security = security or uri
                elif uri.endswith("/debian"):
                    debian = debian or uri
    if not debian:
        raise PrepError(
            "no Debian archive found in this machine's apt sources",
            "add the Debian mirror you use to /etc/apt/sources.list.d/debian.sources",
        )
    return Mirror(debian=debian, security=security)


def detect() -> Mirror:
    files = {}
    if SOURCES_LIST.is_file():
        files[SOURCES_LIST.name] = SOURCES_LIST.read_text()
    if SOURCES_DIR.is_dir():
        for path in SOURCES_DIR.iterdir():
            if path.is_file():
                files[path.name] = path.read_text()
    return parse_sources(files)
