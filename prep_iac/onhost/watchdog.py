#!/usr/bin/python3
"""prep-watchdog: decides what the difusor shows (CONV-I.1, CONV-III.2). Managed by prep-iac.

Resident: `prep-watchdog --every N` makes a pass every N seconds (prep-watchdog.service);
the activator makes one itself right after each cut (`refresh`). Plain `prep-watchdog`
makes one pass and exits.
- before the window opens: `por-abrir` (the "not open yet" page), whatever cut is held
- after it closes: `cerrado` (the last cut stays up)
- a drill cut is no cut once the window is open: `por-abrir`, then `aviso`
- the PREP's final cut (signed final): `concluido`, up until the window closes, never stale
- nothing fresh for 3 periods: `aviso` (the "updates interrupted" notice). Fresh is the
  signed issue time (`emitido`) of the last accepted document, never later than when it was
  accepted (`activado`): a replay is refused upstream, and a frozen site goes stale.
- otherwise: `publicando`
It switches nginx with flag files (nginx tests them per request: no reload), rewrites only
the `estado` field of estado.json (under the shared lock, by atomic rename), and logs every
switch to the journal (SYSLOG_IDENTIFIER=prep-watchdog) with its reason.
Standard library only.
"""

import argparse
import datetime as dt
import json
import os
import re
import string
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from prep_iac import contract
from prep_iac.onhost.common import (
    estado_lock,
    estado_path,
    journal,
    read_json,
    settings_from,
    write_atomic,
)


@dataclass(frozen=True)
class WatchdogConfig:
    """/etc/prep-watchdog/config.json, written by the watchdog component from the inventory."""
    opens: str  # ISO-8601 with offset: the publication window
    closes: str
    official_url: str  # named on the notice page
    period_s: int = contract.DEFAULT_PERIOD_S
    timezone: str = "America/Monterrey"
    prep_root: str = contract.PREP_ROOT
    state_dir: str = contract.WATCHDOG_STATE_DIR
    notice_template: str = f"{contract.WATCHDOG_ETC}/aviso.html"


def parse_time(text):
    """ISO-8601 with offset -> aware datetime; None for anything else."""
    if not isinstance(text, str):
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else None


def decide(now, estado, cfg, current_mtime=None):
    """(state, reason) for this moment. Pure: every input is an argument.

    now: aware datetime; estado: the parsed estado.json (or {}); cfg: the config dict;
    current_mtime: aware datetime of the `current` symlink, used when `activado` is unreadable.
    """
    opens, closes = parse_time(cfg.opens), parse_time(cfg.closes)
    period = int(cfg.period_s)
    limit = contract.stale_after_s(period)
    if now < opens:
        return contract.NOT_OPEN, f"the publication window opens at {cfg.opens}"
    if now >= closes:
        return contract.CLOSED, f"the publication window closed at {cfg.closes}"
    corte = estado.get("corte") if estado.get("modo") != contract.DRILL else None
    fresh = freshness(estado, current_mtime) if corte else None
    if not corte or fresh is None:
        waited = int((now - opens).total_seconds())
        if waited > limit:
            return contract.NOTICE, (f"no cut activated since the window opened at {cfg.opens} "
                                     f"({waited} s > {contract.MISSED_PERIODS} x {period} s)")
        return contract.NOT_OPEN, f"window open, waiting for the first cut ({waited} s)"
    if estado.get("final") is True:
        return contract.CONCLUDED, f"the PREP concluded: final cut {corte}"
    age = int((now - fresh).total_seconds())
    if age > limit:
        signed = f"signed {estado['emitido']}, " if estado.get("emitido") else ""
        return contract.NOTICE, (f"nothing fresh for {age} s "
                                 f"(> {contract.MISSED_PERIODS} x {period} s); "
                                 f"last cut {corte}, {signed}accepted {estado.get('activado')}")
    return contract.PUBLISHING, f"cut {corte} fresh {age} s ago"


def freshness(estado, current_mtime=None):
    """When the served cut was last known fresh: the earlier of its signed issue time and
    its acceptance (a publisher's clock ahead of ours gains nothing). Without either, the
    `current` link's time."""
    times = [t for t in (parse_time(estado.get("emitido")), parse_time(estado.get("activado")))
             if t is not None]
    return min(times) if times else current_mtime


def hora_corte(iso):
    """'2021-06-06T20:00:00-05:00' -> '06/06/2021 20:00 (UTC-05:00)', the IEC's own clock."""
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?",
                 iso or "")
    if not m:
        return "sin corte"
    tz = "UTC" if m[6] == "Z" else (f"UTC{m[6]}" if m[6] else "")
    return f"{m[3]}/{m[2]}/{m[1]} {m[4]}:{m[5]}" + (f" ({tz})" if tz else "")


def render_notice(template, estado, cfg):
    return string.Template(template).safe_substitute(
        corte=_html(estado.get("corte") or "ninguno"),
        corte_hora=_html(hora_corte(estado.get("corte_fecha_hora"))),
        official_url=_html(cfg.official_url),
        periodo_min=str(max(1, int(cfg.period_s) // 60)),
    )


def _html(text):
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def current_mtime(prep_root):
    try:
        st = os.lstat(Path(prep_root) / os.path.basename(contract.CURRENT_LINK))
    except OSError:
        return None
    return dt.datetime.fromtimestamp(st.st_mtime, dt.UTC)


def set_flags(state_dir, state):
    for flag in contract.NOTICE_FLAGS:
        path = Path(state_dir) / flag
        if flag == state:
            if not path.exists():
                write_atomic(path, b"")
        elif path.exists():
            path.unlink()


def run(cfg, now=None, log=print):
    """One pass: decide, switch flags, rewrite estado, log a switch. Returns the state."""
    now = now or dt.datetime.now(dt.UTC)
    state_dir = Path(cfg.state_dir)
    estado_file = Path(estado_path(cfg.prep_root))
    with estado_lock(cfg.prep_root):
        estado = read_json(estado_file)
        state, reason = decide(now, estado, cfg, current_mtime(cfg.prep_root))
        if state == contract.NOTICE:
            # The notice names the last cut: rendered before the flag makes nginx serve it.
            template = Path(cfg.notice_template).read_text()
            page = render_notice(template, estado, cfg).encode()
            notice = state_dir / "aviso.html"
            if not notice.exists() or notice.read_bytes() != page:
                write_atomic(notice, page)
        set_flags(state_dir, state)
        if estado.get("estado") != state or not estado_file.exists():
            new = dict(estado) if estado else {"corte": None, "corte_fecha_hora": None,
                                               "activado": None, "periodo_s": int(cfg.period_s)}
            new["estado"] = state
            write_atomic(estado_file, (json.dumps(new, ensure_ascii=False) + "\n").encode())
        record = state_dir / "estado"
        old = record.read_text().strip() if record.exists() else None
        line = contract.watchdog_message(old, state, reason)
        if line:
            write_atomic(record, (state + "\n").encode())
            log(line)
    return state


def load(path) -> WatchdogConfig:
    """The config the watchdog component wrote (OSError, ValueError or TypeError if unusable)."""
    return settings_from(WatchdogConfig, json.loads(Path(path).read_text()))


def refresh(path) -> str | None:
    """A pass right now, for the activator after a cut: a notice goes off before the IEC
    hears "activated". Its lines go to the journal as the watchdog's. None (and nothing
    done) when this host has no watchdog config: the watchdog is not deployed here."""
    if not path or not os.path.exists(path):
        return None
    return run(load(path), log=lambda line: journal(contract.JOURNAL_WATCHDOG, line))


def main(argv):
    parser = argparse.ArgumentParser(prog="prep-watchdog", description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=float, default=None, metavar="SECONDS",
                        help="stay resident: a pass every SECONDS, on the clock's multiples "
                             "(prep-watchdog.service)")
    args = parser.parse_args(argv)
    config = os.environ.get("PREP_WATCHDOG_CONFIG", contract.WATCHDOG_CONFIG)
    while True:
        # Read at each pass: a deploy's new window counts from the next one (the deploy also
        # restarts the service, so that is now).
        try:
            cfg = load(config)
        except (OSError, ValueError, TypeError) as exc:
            print(f"prep-watchdog: cannot use {config}: {exc}; the watchdog component writes "
                  "it (prep-iac deploy difusor)", file=sys.stderr)
            return 2
        if not args.every:  # by hand or from a script: the switch is in the journal all the same
            run(cfg, log=lambda line: (print(line, flush=True),
                                       journal(contract.JOURNAL_WATCHDOG, line)))
            return 0
        run(cfg, log=lambda line: print(line, flush=True))  # the service's stdout is the journal
        time.sleep(args.every - time.time() % args.every)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
