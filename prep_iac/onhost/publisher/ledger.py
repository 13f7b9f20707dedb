"""The status ledger (CONV-III.2): every period's outcome per difusor, in SQLite.

Three consecutive failed periods suspend a difusor; its first confirmed activation makes it
active again. A confirmed final cut (the PREP's close) makes it `concluded`: the publisher
sends nothing more to it, so no period after the close can count against it. Outcomes are stamped with the start of their publication round (the timer
starts one every `period_s`); a failed round that starts less than half a period after the
last failed one (a new cut right after the timer) is the same period, not another strike.
"""

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from prep_iac import contract

SUSPEND_AFTER = contract.MISSED_PERIODS  # failed periods in a row
ACTIVE, SUSPENDED, CONCLUDED = "active", "suspended", "concluded"

SCHEMA = """
CREATE TABLE IF NOT EXISTS outcomes (
  difusor TEXT NOT NULL, period INTEGER NOT NULL, at REAL NOT NULL, cut TEXT,
  result TEXT NOT NULL, reason TEXT, sent_bytes INTEGER, seconds REAL,
  PRIMARY KEY (difusor, period));
CREATE TABLE IF NOT EXISTS difusores (
  difusor TEXT PRIMARY KEY, state TEXT NOT NULL DEFAULT 'active',
  failures INTEGER NOT NULL DEFAULT 0, last_failed_at REAL,
  confirmed_cut TEXT, confirmed_at REAL, last_result TEXT, last_reason TEXT, updated REAL);
"""


@dataclass(frozen=True)
class Row:
    difusor: str
    state: str
    failures: int
    confirmed_cut: str | None
    confirmed_at: float | None
    last_result: str | None
    last_reason: str | None


@dataclass(frozen=True)
class Change:
    """What a recorded outcome changed: the publisher notifies and logs on these."""
    first_failure: bool = False
    suspended: bool = False
    reactivated: bool = False


class Ledger:
    def __init__(self, path, period_s: int):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        # Pushes report from their own threads; one lock serialises them.
        self.db = sqlite3.connect(str(path), timeout=30, isolation_level=None,
                                  check_same_thread=False)
        self.lock = threading.RLock()
        self.db.executescript(SCHEMA)
        self.period_s = period_s

    def close(self):
        self.db.close()

    def _row(self, name):
        cur = self.db.execute("SELECT difusor, state, failures, confirmed_cut, confirmed_at, "
                              "last_result, last_reason FROM difusores WHERE difusor=?", (name,))
        r = cur.fetchone()
        return Row(*r) if r else Row(name, "active", 0, None, None, None, None)

    def record(self, name, result, *, cut=None, reason=None, sent_bytes=0, seconds=0.0,
               now=None, final=False) -> Change:
        """result: activated | refused | failed; `now`: when the round started; `final`:
        the cut was signed as the PREP's final one."""
        with self.lock:
            return self._record(name, result, cut, reason, sent_bytes, seconds,
                                time.time() if now is None else now, final)

    def _record(self, name, result, cut, reason, sent_bytes, seconds, now, final) -> Change:
        period = int(now // self.period_s)
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.execute("INSERT OR REPLACE INTO outcomes VALUES (?,?,?,?,?,?,?,?)",
                            (name, period, now, cut, result, reason, sent_bytes, seconds))
            self.db.execute("INSERT OR IGNORE INTO difusores (difusor) VALUES (?)", (name,))
            row = self._row(name)
            last_failed = self.db.execute("SELECT last_failed_at FROM difusores "
                                          "WHERE difusor=?", (name,)).fetchone()[0]
            same_period = last_failed is not None and now - last_failed < self.period_s / 2
            change = Change()
            if result == "activated":
                state = CONCLUDED if final else ACTIVE
                change = Change(reactivated=row.state == SUSPENDED)
                self.db.execute("UPDATE difusores SET state=?, failures=0, "
                                "last_failed_at=NULL, confirmed_cut=?, confirmed_at=?, "
                                "last_result=?, last_reason=?, updated=? WHERE difusor=?",
                                (state, cut, now, result, reason, now, name))
            else:
                failures = row.failures + (0 if same_period else 1)
                state = SUSPENDED if failures >= SUSPEND_AFTER else row.state
                change = Change(first_failure=row.failures == 0 and failures == 1,
                                suspended=state == SUSPENDED and row.state != SUSPENDED)
                self.db.execute("UPDATE difusores SET state=?, failures=?, last_failed_at=?, "
                                "last_result=?, last_reason=?, updated=? WHERE difusor=?",
                                (state, failures, last_failed if same_period else now, result,
                                 reason, now, name))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return change

    def rows(self, names) -> list[Row]:
        with self.lock:
            return [self._row(n) for n in names]

    def state(self, name) -> str:
        with self.lock:
            return self._row(name).state

    def history(self, name, limit=20):
        return self.db.execute("SELECT period, at, cut, result, reason, sent_bytes, seconds "
                               "FROM outcomes WHERE difusor=? ORDER BY at DESC LIMIT ?",
                               (name, limit)).fetchall()
