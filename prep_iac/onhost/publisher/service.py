"""The publisher host's service: every period (timer) and when a cut lands (path unit),
publish the newest cut of the drop folder to every difusor: the cut to a difusor that lacks
it, a heartbeat to one that serves it. An entry that is no cut (cutdata.py) is skipped, with
one journal line saying why. From the PREP's close (registry.prep_closes) the newest cut goes
out signed as final, to the difusores that have not confirmed it yet; then the service has
nothing more to send.

    python3 -m prep_iac.onhost.publisher.service --registry /etc/prep-publisher/registry.json

Needs only what Debian ships (python3-paramiko, python3-jinja2) and ssh-keygen.
"""

import argparse
import fcntl
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

from prep_iac import contract
from prep_iac.errors import PrepError
from prep_iac.onhost.publisher import cutdata, listpage, listpush, notify, source
from prep_iac.onhost.publisher.ledger import CONCLUDED, Ledger
from prep_iac.onhost.publisher.registry import Registry
from prep_iac.onhost.publisher.run import (
    cut_candidates,
    known_from_cache,
    prepare,
    prune_signed,
    publish,
)


def unpacked(cut: Path, state: Path) -> tuple[Path, str]:
    """A zip is unpacked once under state_dir/desempacados/<id>; a folder is used in place."""
    if cut.is_dir():
        return cut, cut.name
    target = state / "desempacados" / cut.stem
    if not target.is_dir():
        with source.opened(cut) as (folder, _cut_id):
            tmp = target.with_name("." + target.name)
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.copytree(folder, tmp)
            tmp.rename(target)
        for old in sorted((state / "desempacados").iterdir())[:-3]:
            shutil.rmtree(old, ignore_errors=True)  # keep the last few only
    return target, cut.stem


def round_limits(period_s: float) -> dict:
    """How long one round may wait, from the period. A difusor that is down costs each round
    its TCP connect timeout, so that timeout must stay well inside the period, or a dead host
    would stretch every round past its period (and the three-strike count with it). With the
    convocatoria's 600 s these are the plain defaults; a drill's 6 s periods get 2 s."""
    return {"connect_timeout": min(10.0, max(2.0, period_s / 3)),
            "activation_timeout": min(120.0, max(5.0, period_s / 2)),
            "deadline_s": max(30.0, period_s * 0.9)}


def prep_closed(registry: Registry, now: datetime | None = None) -> bool:
    if not registry.prep_closes:
        return False
    return (now or datetime.now(UTC)) >= datetime.fromisoformat(registry.prep_closes)


def once(registry: Registry, list_dir: Path) -> str | None:
    state = Path(registry.state_dir)
    final = prep_closed(registry)
    ledger = Ledger(state / "ledger.sqlite", registry.period_s)
    targets = registry
    try:
        if final:
            pending = [d.name for d in registry.difusores if ledger.state(d.name) != CONCLUDED]
            if not pending:
                notify.journal("the PREP concluded: every difusor confirmed the final cut")
                return None
            targets = registry.only(pending)
        return _publish_newest(registry, targets, list_dir, state, ledger, final)
    finally:
        _public_list(registry, ledger)
        ledger.close()


def _public_list(registry: Registry, ledger: Ledger) -> None:
    """Every round, after the ledger took its outcomes: a suspension or a recovery reaches
    the Institute's site in the same period. The cuts never wait on it."""
    try:
        listpush.publish_list(registry, ledger)
    except Exception as exc:  # noqa: BLE001 - one journal line, the next round retries
        notify.journal(f"public list not pushed: {type(exc).__name__}: {exc}")


def _skip_line(entry: Path, exc: PrepError) -> str:
    return f"skipped {entry.name}: {exc.cause}" + (f" ({exc.fix})" if exc.fix else "")


def _newest_cut(registry, state: Path) -> tuple[Path, str] | None:
    """(folder, cut id) of the newest real cut in the drop folder, or None. An entry that is
    no cut (a parent of cuts, a folder without PREP CSVs, a zip that is none) is skipped with
    one journal line saying why, and the next newest is tried."""
    for entry in cut_candidates(Path(registry.drop_dir)):
        try:
            folder, cut_id = unpacked(entry, state)
            cutdata.cut_time(folder, cut_id)
        except PrepError as exc:
            notify.journal(_skip_line(entry, exc))
            continue
        return folder, cut_id
    return None


def _publish_newest(registry, targets, list_dir, state, ledger, final) -> str | None:
    found = _newest_cut(registry, state)
    if found is None:
        notify.journal(f"no cut in {registry.drop_dir} yet")
        return None
    folder, cut_id = found
    signed = prepare(folder, cut_id, registry, cache_dir=state / "firmados", final=final,
                     sequence_dir=state)
    prune_signed(state / "firmados")
    known = known_from_cache(state / "firmados", but=cut_id)
    publish(targets, signed, ledger, known=known, **round_limits(registry.period_s))
    listpage.render(registry, ledger, list_dir)  # every difusor, those done before too
    return cut_id


def _entries(drop_dir: Path) -> set[str]:
    return {p.name for p in cut_candidates(drop_dir)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="prep-publisher")
    parser.add_argument("--registry", default=contract.PUBLISHER_REGISTRY)
    parser.add_argument("--list-dir", help="where difusores.html/.json go "
                        "(default: STATE_DIR/lista)")
    args = parser.parse_args(argv)
    registry = Registry.load(args.registry)
    state = Path(registry.state_dir)
    state.mkdir(parents=True, exist_ok=True)
    list_dir = Path(args.list_dir) if args.list_dir else state / "lista"
    with open(state / "publisher.lock", "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            notify.journal("another publication is running; this trigger is folded into it")
            return 0
        # A cut that lands during a publication is published right after it.
        drop, done = Path(registry.drop_dir), set()
        for _ in range(5):
            before = _entries(drop)
            cut_id = once(registry, list_dir)
            if cut_id is None or cut_id in done:
                break
            done.add(cut_id)
            if not _entries(drop) - before - {cut_id, f"{cut_id}.zip"}:
                break  # nothing new landed meanwhile
    return 0


if __name__ == "__main__":
    sys.exit(main())
