"""One publication: sign the cut once, push it everywhere, record, notify, render the list."""

import hashlib
import json
import os
import time
from pathlib import Path

from prep_iac import contract
from prep_iac.onhost.publisher import cutdata, delta, listpage, manifest, notify, signing
from prep_iac.onhost.publisher.connect import load_private_key
from prep_iac.onhost.publisher.fanout import push_all
from prep_iac.onhost.publisher.ledger import Ledger
from prep_iac.onhost.publisher.push import Signed
from prep_iac.onhost.publisher.stamp import new_stamp


def _folder_identity(folder: Path) -> str:
    """Cheap identity of a folder's content (paths, sizes, mtimes): re-hash only on change."""
    h = hashlib.sha256()
    for path in manifest.walk(folder):
        st = path.stat()
        h.update(f"{path.relative_to(folder)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _content(folder: Path, cut_id: str, cache_dir: Path | None):
    """(the cut's files hashed, the folder's identity): the cached manifest while the folder
    is unchanged. The cut's time is read from its CSVs every time, cached or not: a folder
    that is no cut never goes out, whatever an older publisher cached for it."""
    when = cutdata.cut_time(folder, cut_id)
    identity = _folder_identity(folder) if cache_dir else None
    if cache_dir:
        base = Path(cache_dir) / cut_id
        try:
            if json.loads(base.with_suffix(".stamp").read_text()) == identity:
                cached = manifest.Manifest.from_bytes(base.with_suffix(".json").read_bytes())
                if cached.timestamp == when:
                    return cached, identity
        except (OSError, ValueError, KeyError):
            pass
    return manifest.build(folder, cut_id, timestamp=when), identity


def prepare(folder: Path, cut_id: str, registry, cache_dir: Path | None = None, *,
            final: bool = False, sequence_dir: Path | None = None) -> Signed:
    """The cut's manifest and heartbeat under a new stamp (sequence, time, `final`), both
    signed. The hashing is cached per cut id while the folder is unchanged; the stamp is new
    every time, so each round is fresher than the last and a replay is recognisable."""
    folder = Path(folder)
    content, identity = _content(folder, cut_id, cache_dir)
    state = Path(sequence_dir or cache_dir or registry.state_dir)
    m = content.stamped(new_stamp(state, registry.process, registry.mode_at(), final).to_json())
    data = m.to_bytes()
    sig = signing.sign(data, Path(registry.signing_key), registry.namespace)
    if not signing.verify(data, sig, list(registry.signers), registry.identity, registry.namespace):
        raise RuntimeError("the signing key is not one of the inventory's iec.signers: every "
                           "difusor would refuse this cut")
    beat = m.heartbeat_bytes()
    beat_sig = signing.sign(beat, Path(registry.signing_key), registry.namespace)
    if cache_dir:
        Path(cache_dir).mkdir(parents=True, exist_ok=True, mode=0o700)
        base = Path(cache_dir) / cut_id
        base.with_suffix(".json").write_bytes(data)
        base.with_suffix(".sig").write_bytes(sig)
        base.with_suffix(".stamp").write_text(json.dumps(identity))
    return Signed(m, data, sig, folder, beat, beat_sig)


def _cached_newest_first(cache_dir: Path) -> list[Path]:
    """prepare's cached manifests (`<cut>.json`), the newest first."""
    found = []
    for path in Path(cache_dir).glob("*.json"):
        try:
            found.append((path.stat().st_mtime, path))
        except OSError:
            continue
    return [path for _, path in sorted(found, reverse=True)]


def known_from_cache(cache_dir: Path, but: str, newest: int = 2) -> dict[str, delta.Have]:
    """The newest cuts this publisher signed, the one named `but` aside: what the difusores
    most likely serve, so the next delta needs no download (delta.py)."""
    known = {}
    for path in _cached_newest_first(cache_dir):
        if path.stem == but:
            continue
        try:
            sha, have = delta.base_of(path.read_bytes())
        except (OSError, ValueError, KeyError):
            continue  # a damaged cache entry: the next one, or the difusor's copy, serves
        known[sha] = have
        if len(known) == newest:
            break
    return known


def prune_signed(cache_dir: Path, keep: int = 8) -> None:
    """prepare's cache keeps the newest `keep` cuts (a night adds one each period)."""
    for path in _cached_newest_first(cache_dir)[keep:]:
        for suffix in (".json", ".sig", ".stamp"):
            path.with_suffix(suffix).unlink(missing_ok=True)


def publish(registry, signed: Signed, ledger: Ledger, *, list_dir=None, sessions=4,
            timeout=10.0, activation_timeout=60.0, connect_timeout=None, deadline_s=None,
            hooks=None, on_result=None, known=None):
    """`known`: delta bases of cuts published before (known_from_cache); a difusor serving
    one of them gets its delta from this copy instead of sending its served manifest."""
    key = load_private_key(registry.sftp_identity)
    by_name = {d.name: d for d in registry.difusores}
    round_start = time.time()  # every outcome of this round counts for the same period

    def record(r):
        # The reason is a difusor's text (ultimo.json's motivo, its SSH server's errors):
        # one clean line before it reaches the journal, the ledger, mail or the console.
        r.reason = contract.sanitize_remote_text(r.reason)
        notify.journal(contract.pushed_message(r.cut, r.difusor, r.result, r.reason,
                                               r.sent_bytes, r.seconds))
        change = ledger.record(r.difusor, r.result, cut=r.cut, reason=r.reason,
                               sent_bytes=r.sent_bytes, seconds=r.seconds, now=round_start,
                               final=signed.manifest.stamp["final"])
        if change.first_failure:
            notify.first_failure(by_name[r.difusor], r, registry.notify_webhook,
                                 registry.notify_mail)
        if change.suspended:
            notify.journal(contract.suspended_message(r.difusor))
        if change.reactivated:
            notify.journal(contract.reactivated_message(r.difusor))
        if on_result:
            on_result(r)

    results = push_all(registry, signed, key, sessions=sessions, timeout=timeout,
                       activation_timeout=activation_timeout, connect_timeout=connect_timeout,
                       deadline_s=deadline_s, hooks=hooks, on_result=record,
                       known=known)
    if list_dir:
        listpage.render(registry, ledger, list_dir)
    return results


def cut_candidates(drop_dir: Path) -> list[Path]:
    """The drop folder's complete entries that may be cuts, the newest first: named after
    their time first, by that time; then by arrival. The IEC copies a cut in under a dot
    name and renames it, so names starting with '.' are still arriving. Whether an entry is
    a cut its content says (cutdata.py), not this order."""
    drop_dir = Path(drop_dir)
    if not drop_dir.is_dir():
        return []
    cands = [p for p in drop_dir.iterdir() if not p.name.startswith(".")
             and (p.is_dir() or p.suffix == ".zip")]

    def order(path):
        named = contract.parse_cut_id(path.stem)
        return (named is not None, path.stem if named else "", os.stat(path).st_mtime)
    return sorted(cands, key=order, reverse=True)

