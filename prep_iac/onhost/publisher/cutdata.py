"""What makes a folder a PREP cut, and the cut's time, read from the cut's own data.

A cut is recognised by its content, never by its folder's name or date: the PREP CSVs right
in the folder (loose, or in the zip of the database package beside the site, as the
Institute publishes them) carry the cut's date, time and UTC offset on their second line:

    AYUNTAMIENTOS
    06/06/2021 20:00 (UTC-5)

Every such CSV of a cut must say the same time, and a name that carries a time
(contract.parse_cut_id) must say it too. The difusor shows that time as the cut's (CONV-I.10)
and refuses any cut older than the one it serves, so a guessed time would be worse than none.

Runs on the publisher host too: the standard library, the contract and PrepError only.
"""

import re
import zipfile
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

from prep_iac import contract
from prep_iac.errors import PrepError

# A PREP CSV's cut line: dd/mm/yyyy HH:MM[:SS] (UTC±H[:MM]). prep_iac.corte reads it here too.
TIME_LINE = re.compile(
    r"^\s*(\d{2})/(\d{2})/(\d{4})\s+(\d{2}):(\d{2})(?::\d{2})?\s*\(UTC\s*([+-])\s*(\d{1,2})"
    r"(?::?(\d{2}))?\)")
HEAD_BYTES = 4096  # the time line is the second line: no need to read 1 MB of rows
EXAMPLE = "06/06/2021 20:00 (UTC-5)"
# What zipfile raises for a zip it cannot read: cut off or overwritten (BadZipFile,
# zlib.error, EOFError), a compression method it lacks (NotImplementedError: the zip's
# own method, not a stub of ours), an encrypted member (RuntimeError). Each has a test.
ZIP_DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError)


def parse_time_line(line: str) -> datetime | None:
    """The time of a cut line, with its own offset; None when the line is not one."""
    m = TIME_LINE.match(line)
    if not m:
        return None
    d, mo, y, h, mi, sign, oh, om = m.groups()
    offset = timedelta(hours=int(oh), minutes=int(om or 0))
    try:
        return datetime(int(y), int(mo), int(d), int(h), int(mi),
                        tzinfo=timezone(-offset if sign == "-" else offset))
    except ValueError:  # 31/02, 25:00, an offset of a day or more
        return None


def head_time(head: bytes) -> datetime | None:
    """The time line of a CSV's first bytes: its second non-blank line, whatever the
    encoding (the line is ASCII in UTF-8, Latin-1 and Windows-1252) and line endings."""
    text = head.removeprefix(b"\xef\xbb\xbf").decode("latin-1")
    lines = [line for line in re.split(r"\r\n|\r|\n", text) if line.strip()]
    return parse_time_line(lines[1]) if len(lines) > 1 else None


def _is_csv(name: str) -> bool:
    return name.lower().endswith(".csv")


def _zip_times(path: Path, found: dict[str, datetime], unreadable: list[str]) -> None:
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if info.is_dir() or not _is_csv(info.filename):
                    continue
                with zf.open(info) as member:
                    when = head_time(member.read(HEAD_BYTES))
                if when:
                    found[f"{path.name}:{info.filename}"] = when
    except (OSError, *ZIP_DAMAGED):
        unreadable.append(path.name)


def scan(folder: Path) -> tuple[dict[str, datetime], list[str]]:
    """({where: time} of every PREP CSV right in `folder`, loose or in one of its zips; the
    zips that could not be read). Links are not followed: a cut holds plain files."""
    found: dict[str, datetime] = {}
    unreadable: list[str] = []
    for path in sorted(Path(folder).iterdir()):
        if path.is_symlink() or not path.is_file():
            continue
        if _is_csv(path.name):
            with open(path, "rb") as f:
                when = head_time(f.read(HEAD_BYTES))
            if when:
                found[path.name] = when
        elif path.suffix.lower() == ".zip":
            _zip_times(path, found, unreadable)
    return found, unreadable


def is_cut(folder: Path) -> bool:
    """Whether `folder` holds a PREP CSV with its time (a cut, maybe an inconsistent one)."""
    try:
        return bool(scan(folder)[0])
    except OSError:
        return False


def cuts_inside(folder: Path) -> list[Path]:
    """The sub-folders of `folder` that are cuts named after their time (as the PREP and
    `prep-iac corte` name them; a site's own `datos/` is none), oldest first."""
    subs = [p for p in Path(folder).iterdir() if contract.parse_cut_id(p.name) is not None
            and p.is_dir() and not p.is_symlink()]
    return sorted((p for p in subs if is_cut(p)), key=lambda p: p.name)


def _refuse_parent(folder: Path) -> None:
    cuts = cuts_inside(folder)
    if len(cuts) == 1:
        raise PrepError(f"{folder} holds the cut {cuts[0]}", "publish that folder")
    if cuts:
        raise PrepError(f"{folder} holds {len(cuts)} cuts ({cuts[0].name} … {cuts[-1].name})",
                        f"publish one of those folders, e.g. the newest: {cuts[-1]}")


def _refuse_no_csv(folder: Path, unreadable: list[str]) -> None:
    broken = f" ({', '.join(unreadable)}: not a readable zip)" if unreadable else ""
    raise PrepError(
        f"{folder} is not a PREP cut: no CSV in it, loose or in its zip, carries the cut's "
        f"date and time{broken}",
        f"publish a cut's own folder: a PREP cut's CSVs carry its time on their second "
        f"line, like `{EXAMPLE}`")


def _refuse_disagreement(folder: Path, found: dict[str, datetime]) -> None:
    first = {}
    for where, when in found.items():
        first.setdefault(when.isoformat(), where)
    if len(first) > 1:
        said = "; ".join(f"{where} says {when}" for when, where in first.items())
        raise PrepError(f"the CSVs of {folder} disagree on the cut's time: {said}",
                        "a cut's CSVs all carry its one time: export the cut again")


def _refuse_wrong_name(name: str, when: datetime) -> None:
    named = contract.parse_cut_id(name)
    if named is not None and named != when.replace(tzinfo=None):
        raise PrepError(
            f"{name} names the time {named:%Y-%m-%d %H:%M} but its CSVs say "
            f"{when:%Y-%m-%d %H:%M}",
            f"name the cut after its data ({when:%Y%m%d_%H%M}_…) or publish the right folder")


def cut_time(folder: Path, cut_id: str | None = None) -> str:
    """The cut's time as its CSVs say it, ISO-8601 with their offset (the IEC's). `cut_id`
    (default: the folder's name) is only checked against it. Raises PrepError when the
    folder is no cut, holds cuts, or its CSVs or name disagree."""
    folder = Path(folder)
    try:
        found, unreadable = scan(folder)
    except OSError as exc:
        raise PrepError(f"cannot read {folder}: {exc.strerror or exc}",
                        "publish a cut folder this account can read") from None
    if not found:
        _refuse_parent(folder)
        _refuse_no_csv(folder, unreadable)
    _refuse_disagreement(folder, found)
    when = next(iter(found.values()))
    _refuse_wrong_name(cut_id or folder.name, when)
    return when.isoformat()
