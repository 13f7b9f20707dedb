"""What a difusor lacks: the files of the new cut whose content its served cut does not have.

The activator reuses any unchanged content of the served cut by hash (a renamed file is not
sent again), so the delta is by SHA-256 and size, not by path.

The base is the served cut's manifest. The difusor names its content in its estado.json
(`contenido_sha256`, contract.content_sha256: whatever stamp signed it); when the publisher
holds a manifest of that content (it signed it), it uses its own copy, and downloads the difusor's (`estado/manifiesto.json`, ~600 KB for a
4,000-file cut) only otherwise.
"""

from collections.abc import Iterable

from prep_iac.onhost.publisher.manifest import Entry, Manifest

Have = frozenset  # of (sha256, size)


def have_of_manifest(m: Manifest) -> Have:
    return frozenset((e.sha256, e.size) for e in m.entries)


def have_of_served(served: dict | None) -> Have:
    """From the difusor's stored manifest (JSON), or nothing."""
    if served and isinstance(served.get("archivos"), list):
        return frozenset((a.get("sha256"), a.get("bytes")) for a in served["archivos"]
                         if isinstance(a, dict))
    return frozenset()


def base_of(signed_manifest: bytes) -> tuple[str, Have]:
    """(its content's digest, its content): how a difusor names the content of its served
    cut. ValueError or KeyError for bytes that are not a manifest."""
    m = Manifest.from_bytes(signed_manifest)
    return m.content_sha256, have_of_manifest(m)


def known_bases(signed_manifests: Iterable[bytes]) -> dict[str, Have]:
    return dict(base_of(data) for data in signed_manifests)


def missing(new: Manifest, have: Have) -> list[Entry]:
    """Entries to upload, given what the difusor's served cut holds."""
    return [e for e in new.entries if (e.sha256, e.size) not in have]
