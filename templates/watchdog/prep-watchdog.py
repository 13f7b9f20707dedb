#!/usr/bin/python3
"""prep-watchdog: decides what the difusor shows (CONV-I.1, CONV-III.2). Managed by prep-iac.

Run by prep-watchdog.timer every few seconds, and by the activator right after a cut.
- before the window opens: `por-abrir` (the "not open yet" page)
- after it closes: `cerrado` (the last cut stays up)
- no cut activated for 3 periods: `aviso` (the "updates interrupted" notice)
- otherwise: `publicando`
It switches nginx with flag files (nginx tests them per request: no reload), rewrites only
the `estado` field of estado.json (under the shared lock, by atomic rename), and logs every
switch to the journal (SYSLOG_IDENTIFIER=prep-watchdog) with its reason.
Standard library only.
"""

import datetime as dt
import fcntl
import json
import os
import re
import string
import sys
import tempfile
from pathlib import Path

CONFIG = Path(os.environ.get("PREP_WATCHDOG_CONFIG", "/etc/prep-watchdog/config.json"))
MISSED_PERIODS = 3
STATES = ("publicando", "aviso", "cerrado", "por-abrir")
FLAGS = ("aviso", "por-abrir")  # files nginx tests; "publicando"/"cerrado" have none


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
    opens, closes = parse_time(cfg["opens"]), parse_time(cfg["closes"])
    period = int(cfg["periodo_s"])
    limit = MISSED_PERIODS * period
    if now < opens:
        return "por-abrir", f"the publication window opens at {cfg['opens']}"
    if now >= closes:
        return "cerrado", f"the publication window closed at {cfg['closes']}"
    corte = estado.get("corte")
    activado = parse_time(estado.get("activado")) if corte else None
    if corte and activado is None:
        activado = current_mtime
    if not corte or activado is None:
        waited = int((now - opens).total_seconds())
        if waited > limit:
            return "aviso", (f"no cut activated since the window opened at {cfg['opens']} "
                             f"({waited} s > {MISSED_PERIODS} x {period} s)")
        return "por-abrir", f"window open, waiting for the first cut ({waited} s)"
    age = int((now - activado).total_seconds())
    if age > limit:
        return "aviso", (f"no cut activated for {age} s (> {MISSED_PERIODS} x {period} s); "
                         f"last cut {corte} activated {estado.get('activado')}")
    return "publicando", f"cut {corte} activated {age} s ago"


def message(old, new, reason):
    """The journal line for a switch (docs/contracts.md), or None when nothing switched."""
    if old == new:
        return None
    if new == "aviso":
        return f"aviso ON: {reason}"
    if old == "aviso":
        return f"aviso OFF: {reason}"
    return f"estado {old or 'ninguno'} -> {new}: {reason}"


def hora_corte(iso):
    """'2021-06-06T20:00:00-05:00' -> '06/06/2021 20:00 (UTC-05:00)', the IEC's own clock."""
    m = re.match(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$",
                 iso or "")
    if not m:
        return "sin corte"
    tz = "UTC" if m[6] == "Z" else (f"UTC{m[6]}" if m[6] else "")
    return f"{m[3]}/{m[2]}/{m[1]} {m[4]}:{m[5]}" + (f" ({tz})" if tz else "")


def render_notice(template, estado, cfg):
    return string.Template(template).safe_substitute(
        corte=_html(estado.get("corte") or "ninguno"),
        corte_hora=_html(hora_corte(estado.get("corte_fecha_hora"))),
        official_url=_html(cfg["official_url"]),
        periodo_min=str(max(1, int(cfg["periodo_s"]) // 60)),
    )


def _html(text):
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def write_atomic(path, data, mode=0o644):
    """Write by rename in the same directory: readers see the old or the new file, whole."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_json(path):
    try:
        value = json.loads(Path(path).read_text())
        return value if isinstance(value, dict) else {}
    except (OSError, ValueError):
        return {}


def current_mtime(prep_root):
    try:
        st = os.lstat(Path(prep_root) / "current")
    except OSError:
        return None
    return dt.datetime.fromtimestamp(st.st_mtime, dt.UTC)


def set_flags(state_dir, state):
    for flag in FLAGS:
        path = Path(state_dir) / flag
        if flag == state:
            if not path.exists():
                write_atomic(path, b"")
        elif path.exists():
            path.unlink()


def run(cfg, now=None, log=print):
    """One pass: decide, switch flags, rewrite estado, log a switch. Returns the state."""
    now = now or dt.datetime.now(dt.UTC)
    prep_root, state_dir = Path(cfg["prep_root"]), Path(cfg["state_dir"])
    estado_path = prep_root / "estado.json"
    with open(prep_root / ".estado.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        estado = read_json(estado_path)
        state, reason = decide(now, estado, cfg, current_mtime(prep_root))
        if state == "aviso":
            # The notice names the last cut: rendered before the flag makes nginx serve it.
            template = Path(cfg["notice_template"]).read_text()
            page = render_notice(template, estado, cfg).encode()
            notice = state_dir / "aviso.html"
            if not notice.exists() or notice.read_bytes() != page:
                write_atomic(notice, page)
        set_flags(state_dir, state)
        if estado.get("estado") != state or not estado_path.exists():
            new = dict(estado) if estado else {"corte": None, "corte_fecha_hora": None,
                                               "activado": None, "periodo_s": int(cfg["periodo_s"])}
            new["estado"] = state
            write_atomic(estado_path, (json.dumps(new, ensure_ascii=False) + "\n").encode())
        record = state_dir / "estado"
        old = record.read_text().strip() if record.exists() else None
        line = message(old, state, reason)
        if line:
            write_atomic(record, (state + "\n").encode())
            log(line)
    return state


def main(argv):
    cfg = json.loads(CONFIG.read_text())
    run(cfg, log=lambda line: print(line, flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
