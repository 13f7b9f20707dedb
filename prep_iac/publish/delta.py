"""What a difusor lacks: the files of the new cut whose content its served cut does not have.

The activator reuses any unchanged content of the served cut by hash (a renamed file is not
sent again), so the delta is by SHA-256 and size, not by path.
"""

from prep_iac.publish.manifest import Entry, Manifest


def missing(new: Manifest, served: dict | None) -> list[Entry]:
    """Entries to upload, given the difusor's last activated manifest (JSON) or None."""
    have = set()
    if served and isinstance(served.get("archivos"), list):
        have = {(a.get("sha256"), a.get("bytes")) for a in served["archivos"]}
    return [e for e in new.entries if (e.sha256, e.size) not in have]
