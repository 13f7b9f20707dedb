"""Cut times: the Institute's time zone, the series of cuts, cut ids, timestamp formats.

Arithmetic is done in UTC and shown in the Institute's zone, so a series that crossed a
DST change would still be evenly spaced in real time.
"""

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from prep_iac.errors import PrepError

DEFAULT_TZ = "America/Monterrey"
DEFAULT_DATE = date(2021, 6, 6)
OPENING = time(18, 0)
TIMESTAMP_FORMAT = "%d/%m/%Y %H:%M:%S"


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, IsADirectoryError):
        raise PrepError(
            f"unknown time zone {name!r}",
            "use an IANA zone name such as America/Monterrey or America/Mexico_City",
        ) from None


def utc_offset_label(moment: datetime) -> str:
    """``UTC-5`` as the CSV's cut line writes it (``UTC-5:30`` for odd offsets)."""
    minutes = int(moment.utcoffset().total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    h, m = divmod(abs(minutes), 60)
    return f"UTC{sign}{h}" + (f":{m:02d}" if m else "")


def cut_line(moment: datetime) -> str:
    return f"{moment:%d/%m/%Y %H:%M} ({utc_offset_label(moment)})"


def cut_id(moment: datetime) -> str:
    return f"{moment:%Y%m%d_%H%M}_PREP_AYUN_COAH"


def parse_period(text: str | timedelta) -> timedelta:
    if isinstance(text, timedelta):
        return text
    m = re.fullmatch(r"\s*(\d+)\s*([smh]?)\s*", str(text))
    if not m or int(m.group(1)) == 0:
        raise PrepError(f"cannot read the period {text!r}", "write it like 10m, 30s or 1h")
    unit = {"s": 1, "m": 60, "h": 3600, "": 60}[m.group(2)]
    return timedelta(seconds=int(m.group(1)) * unit)


def parse_moment(text: str | datetime, election_date: date, tz: ZoneInfo,
                 not_before: datetime | None = None) -> datetime:
    """A cut time: a full ``YYYY-MM-DD HH:MM`` or just ``HH:MM`` (on election night: a time
    earlier than ``not_before`` means the next morning)."""
    if isinstance(text, datetime):
        return text.astimezone(tz) if text.tzinfo else text.replace(tzinfo=tz)
    s = str(text).strip()
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%d/%m/%Y %H:%M"):
        try:
            return datetime.strptime(s, fmt).replace(tzinfo=tz)
        except ValueError:
            pass
    try:
        t = datetime.strptime(s, "%H:%M").time()
    except ValueError:
        raise PrepError(f"cannot read the time {text!r}",
                        'write it as "2021-06-06 20:00" or "20:00"') from None
    moment = datetime.combine(election_date, t, tzinfo=tz)
    if not_before is not None and moment < not_before:
        moment = datetime.combine(election_date + timedelta(days=1), t, tzinfo=tz)
    return moment


def series_times(start: datetime, end: datetime, every: timedelta) -> list[datetime]:
    """Every cut time from ``start`` to ``end`` inclusive, ``every`` apart."""
    if end < start:
        raise PrepError(f"the series ends ({end:%Y-%m-%d %H:%M}) before it starts "
                        f"({start:%Y-%m-%d %H:%M})", "give a --hasta after --desde")
    tz = start.tzinfo
    s, e = start.astimezone(UTC), end.astimezone(UTC)
    out = []
    while s <= e:
        out.append(s.astimezone(tz))
        s += every
    return out


def check_in_series(at: datetime, times: list[datetime], every: timedelta) -> None:
    if at in times:
        return
    first, last = times[0], times[-1]
    if at < first or at > last:
        raise PrepError(
            f"--at {at:%Y-%m-%d %H:%M} is outside the series "
            f"{first:%Y-%m-%d %H:%M} – {last:%Y-%m-%d %H:%M}",
            "pick a cut time inside the series, or move --desde/--hasta",
        )
    before = max(t for t in times if t < at)
    raise PrepError(
        f"--at {at:%Y-%m-%d %H:%M} is not a cut time: cuts are every "
        f"{int(every.total_seconds() // 60)} min from {first:%H:%M}",
        f"use {before:%H:%M} or {(before.astimezone(UTC) + every).astimezone(at.tzinfo):%H:%M}",
    )
