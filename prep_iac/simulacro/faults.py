"""Fault injectors: each breaks one thing on real lab hosts, puts it back, and reports what
the system did from evidence (journals, the publisher's list, the observers' timeline).

The drill talks to every injector through the same hooks, in this order, and never asks
which kind of fault it holds:

- `before_cut(period)`, at the start of every period, before its cut is written: the base
  class runs `start` at the fault's period and `stop` `periods` later;
- `delivers_cut(period)`: True when the injector hands the period's cut to the difusores
  itself (`deliver(folder)`), instead of the drill dropping it at the publisher; such a cut
  is not expected to be served;
- `after_drop(period)`, right after the drill dropped the period's cut at the publisher;
- `after_night()`, once the last cut's period is over: the base class stops a fault still on;
- `excuses(difusor, period)`, while the drill checks propagation;
- `outcome()`, after the night: what was observed, against the fault's `expect` keys.

Whether that outcome passes is decided in verdicts.py, not here.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

from prep_iac.contract import (
    ESTADO_FILE,
    JOURNAL_UPS,
    JOURNAL_WATCHDOG,
    MISSED_PERIODS,
    NOTICE_OFF_RE,
    NOTICE_ON_RE,
)
from prep_iac.lab.link import set_link
from prep_iac.pentest.continuity import journal_command, journal_entries
from prep_iac.pentest.failover import holders
from prep_iac.simulacro import plan as P

_NOTICE_ON = re.compile(NOTICE_ON_RE)  # the watchdog's lines (contract.watchdog_message)
_NOTICE_OFF = re.compile(NOTICE_OFF_RE)


@dataclass
class Outcome:
    observed: dict
    evidence: list[str] = field(default_factory=list)


class Injector(ABC):
    def __init__(self, drill, fault):
        self.drill = drill
        self.fault = fault
        self.started_at: float | None = None
        self.stopped_at: float | None = None
        self.error: str | None = None  # what went wrong injecting it, if anything

    # ---- the hooks the drill calls -----------------------------------------------------
    def before_cut(self, period: int) -> None:
        """At the start of every period, before its cut: the fault starts at its period and
        stops `periods` later (end_period)."""
        if period == self.fault.at:
            target = getattr(self.fault, "target", "")
            self.drill.log(f"periodo {period}: falla {self.fault.kind} {target}".rstrip())
            self.guarded("start", self.start)
        elif period == self.end_period and self.running:
            self.guarded("stop", self.stop)

    def delivers_cut(self, period: int) -> bool:
        """Whether this injector hands the cut of `period` to the difusores itself (the drill
        then neither drops it at the publisher nor expects it served). An injector that can
        answer True also defines `deliver(folder)`, which hand_over calls for that period."""
        return False

    def after_drop(self, period: int) -> None:
        """Right after the drill dropped the cut of `period` at the publisher."""

    def after_night(self) -> None:
        """The night is over: a fault still on is put back."""
        if self.running:
            self.guarded("stop", self.stop)

    @property
    def running(self) -> bool:
        return bool(self.started_at) and not self.stopped_at

    # ---- the steps ----------------------------------------------------------------------
    def guarded(self, step: str, action) -> None:
        """Run a step of the injection; a failure fails this fault, not the whole night. The
        first failure is kept: later steps often fail only because of it."""
        try:
            action()
        except Exception as exc:  # noqa: BLE001 - reported as the fault's evidence
            self.error = self.error or f"{step}: {type(exc).__name__}: {exc}"

    @property
    def end_period(self) -> int:
        return self.fault.at + getattr(self.fault, "periods", 0)

    def start(self) -> None:
        self.started_at = time.time()

    def stop(self) -> None:
        self.stopped_at = time.time()

    def excuses(self, difusor: str, period: int) -> bool:
        """Whether this fault excuses `difusor` from receiving the cut of `period` in time."""
        return False

    @abstractmethod
    def outcome(self) -> Outcome:
        """What was observed, against the fault's `expect` keys (verdicts.py compares)."""

    def journal(self, host: str, ident: str) -> list[dict]:
        proc = self.drill.run(host, journal_command(ident, self.started_at or 0))
        return journal_entries(proc.stdout)


class NetworkCut(Injector):
    """The difusor's interface goes down: nothing reaches it, nothing leaves it."""

    def start(self):
        super().start()
        set_link(self.drill.lab, self.fault.target, up=False)

    def stop(self):
        set_link(self.drill.lab, self.fault.target, up=True)
        super().stop()

    def excuses(self, difusor, period):
        # Cut off, then one period to be pushed again and activate.
        return difusor == self.fault.target and self.fault.at <= period <= self.end_period + 1

    def outcome(self):
        target, drill = self.fault.target, self.drill
        notices = self.journal(target, JOURNAL_WATCHDOG)
        on = [e for e in notices if _NOTICE_ON.match(e["message"])]
        off = [e for e in notices if _NOTICE_OFF.match(e["message"])]
        states = drill.publisher_states(target)
        suspended = [s for s in states if s["at"] >= self.started_at and s["estado"] == "suspendido"]
        unlisted = [s for s in suspended if s["url"] is None]
        after = [s for s in states if s["at"] > (self.stopped_at or 0)]
        # back on the list (active, or concluded when the night ended meanwhile), serving
        back = bool(after) and after[-1]["estado"] in ("activo", "concluido") and bool(
            drill.observer.first_seen_any_after(target, self.stopped_at or 0))
        evidence = [f"{target} {JOURNAL_WATCHDOG}: {e['message']}" for e in (on[:1] + off[-1:])]
        if suspended:
            evidence.append(f"lista del IEC: {target} suspendido "
                            f"{suspended[0]['at'] - self.started_at:.0f} s tras el corte de red"
                            + (", sin liga" if unlisted else ", con liga"))
        return Outcome({"aviso": bool(on) and bool(off) and on[0]["at"] < (self.stopped_at or 0),
                        "suspended": bool(unlisted),
                        "recovers": back}, evidence)


class Freeze(NetworkCut):
    """The publisher cannot reach the difusor (the host's own firewall drops it), and every
    period someone with the jail's key re-sends the last signed copy of the served cut, as
    a stuck or hostile uploader would. Replays must be refused and change nothing, so the
    watchdog sees nothing fresh: the notice, then the suspension, as for a cut link."""

    TABLE = "prep_drill_freeze"

    def start(self):
        Injector.start(self)
        self.replays: list[str] = []  # each replay's verdict
        publisher = self.drill.inventory.publishers[self.drill.publisher].address
        rules = (f"table inet {self.TABLE} {{\n chain input {{\n"
                 f"  type filter hook input priority -5;\n"
                 f"  ip saddr {publisher} tcp dport 22 drop\n }}\n}}\n")
        proc = self.drill.lab.nsenter(self.fault.target, ["nft", "-f", "-"], input=rules)
        if proc.returncode != 0:
            raise RuntimeError(f"nft: {proc.stderr.strip()}")
        self.saved = self._last_signed()

    def before_cut(self, period):
        super().before_cut(period)
        if self.running and period > self.fault.at:
            self.guarded("replay", self.replay)

    def stop(self):
        self.drill.lab.nsenter(self.fault.target, ["nft", "delete", "table", "inet", self.TABLE])
        Injector.stop(self)

    def _last_signed(self) -> tuple[str, bytes, bytes]:
        """The served cut's manifest and signature as the publisher last signed them."""
        estado = json.loads(self.drill.run(
            self.fault.target, f"cat {ESTADO_FILE}").stdout)
        cut = estado["corte"]
        state = self.drill.inventory.publishers[self.drill.publisher].state_dir
        base = f"{state}/firmados/{cut}"
        # bytes as signed: no text decoding on the way
        return cut, *(self.drill.run(self.drill.publisher, f"sudo cat {base}{suffix}",
                                     text=False).stdout for suffix in (".json", ".sig"))

    def replay(self) -> None:
        from prep_iac.onhost.publisher.connect import connect, load_private_key, sftp
        from prep_iac.onhost.publisher.push import LAST_RESULT, read_json, send_signed, wait_result

        registry = self.drill.registry
        entry = next(d for d in registry.difusores if d.name == self.fault.target)
        cut, data, sig = self.saved
        transport = connect(entry, registry.jail_user, load_private_key(registry.sftp_identity),
                            5.0)
        try:
            client = sftp(transport, 5.0)
            last = read_json(client, LAST_RESULT) or {}
            nonce, _ = send_signed(client, cut, data, sig)
            result, reason = wait_result(client, cut, nonce, last, self.drill.period_s)
        finally:
            transport.close()
        self.replays.append(f"{result}: {reason}" if reason else result)

    def outcome(self):
        base = super().outcome()
        refused = [r for r in self.replays if r.startswith("refused: not newer")]
        evidence = [f"{self.fault.target}: {len(refused)} de {len(self.replays)} reenvíos del "
                    f"corte {self.saved[0]} rechazados" + (f" ({self.replays[0]})"
                                                          if self.replays else ""),
                    *base.evidence]
        ok = len(self.replays) >= MISSED_PERIODS and len(refused) == len(self.replays)
        return Outcome({**base.observed, "replays_refused": ok}, evidence)


class CorruptCut(Injector):
    """A cut signed by the IEC whose files changed after signing, pushed to every difusor."""

    def __init__(self, drill, fault):
        super().__init__(drill, fault)
        self.results: list = []
        self.cut_id: str | None = None

    def excuses(self, difusor, period):
        return period == self.fault.at  # the corrupt cut itself must never be served

    def delivers_cut(self, period):
        return period == self.fault.at

    def deliver(self, folder) -> None:
        self.guarded("push", lambda: self.push(folder, folder.name))

    def push(self, folder, cut_id) -> None:
        """Sign the period's cut, alter it, push it to every difusor (not via the publisher)."""
        from prep_iac.onhost.publisher.connect import load_private_key
        from prep_iac.onhost.publisher.fanout import push_all
        from prep_iac.onhost.publisher.run import prepare

        registry = self.drill.registry
        signed = prepare(folder, cut_id, registry, sequence_dir=self._sequence_ahead(folder))
        tampered = folder.with_name(folder.name + ".alterado")
        shutil.copytree(folder, tampered)
        victim = tampered / "index.html"
        victim.write_bytes(victim.read_bytes().replace(b"PREP", b"PREX", 1))
        signed = dataclasses.replace(signed, folder=tampered)
        self.results = push_all(registry, signed, load_private_key(registry.sftp_identity),
                                timeout=5.0, activation_timeout=self.drill.period_s * 2,
                                deadline_s=self.drill.period_s * 3)
        self.cut_id = cut_id

    def _sequence_ahead(self, folder) -> Path:
        """A sequence store two periods ahead of the clock. The publisher keeps signing
        heartbeats of the served cut while this push is on its way (it is the drill, a second
        signer, that sends it); with a stamp ahead of theirs, the difusores judge the content,
        which is what this fault tests, and not the order of two signers (a refused cut
        changes nothing on a difusor, so the lead leaves no trace)."""
        from prep_iac.onhost.publisher.stamp import SEQUENCE_FILE

        store = folder.with_name(folder.name + ".secuencia")
        store.mkdir(mode=0o700, exist_ok=True)
        ahead = int((time.time() + 2 * self.drill.period_s) * 1000)
        (store / SEQUENCE_FILE).write_text(f"{ahead}\n")
        return store

    def outcome(self):
        served = [d for d in self.drill.difusor_names
                  if self.cut_id and self.drill.observer.first_seen(d, self.cut_id) is not None]
        # refused for what was done to it, not for anything else about the push
        refused = [r for r in self.results if r.result == "refused"
                   and "hash mismatch" in (r.reason or "")]
        evidence = [f"{r.difusor}: {r.result} ({r.reason})" for r in self.results]
        everyone = bool(self.results) and len(refused) == len(self.drill.difusor_names)
        return Outcome({"refused": everyone and not served}, evidence)


class UpsOnBattery(Injector):
    SEQ = "/etc/nut/ups.seq"

    def _status(self, status: str) -> None:
        self.drill.run(self.fault.target,
                       f"sudo sed -i 's/^ups.status:.*/ups.status: {status}/' {self.SEQ}")

    def start(self):
        super().start()
        self._status("OB")

    def stop(self):
        self._status("OL")
        super().stop()

    def outcome(self):
        time.sleep(3)  # dummy-ups follows its file within ~2 s
        events = self.journal(self.fault.target, JOURNAL_UPS)
        onbatt = [e for e in events if e["message"].startswith("ONBATT")]
        online = [e for e in events if e["message"].startswith("ONLINE")]
        errors = [o for o in self.drill.observer.states_between(
            self.fault.target, self.started_at, self.stopped_at or time.time()) if o.error]
        return Outcome({"notified": bool(onbatt) and bool(online), "keeps_serving": not errors},
                       [f"{self.fault.target} {JOURNAL_UPS}: {e['message']}"
                        for e in onbatt[:1] + online[:1]])


class Flood(Injector):
    """Many requests from one lab address, while a second address keeps loading pages."""

    def start(self):
        super().start()
        self.result: dict = {}
        self.thread = threading.Thread(target=self._run, daemon=True, name="flood")
        self.thread.start()

    def _run(self):
        from prep_iac.simulacro.flood import flood_and_measure

        target = self.drill.targets[self.fault.target]
        self.result = flood_and_measure(self.drill.lab, target, seconds=self.fault.seconds)

    def stop(self):
        self.thread.join(self.fault.seconds + 30)
        super().stop()

    @property
    def end_period(self):
        return self.fault.at + 1  # its seconds fall inside one period

    def outcome(self):
        r = self.result
        evidence = [(f"origen del ataque {r.get('source')}: {r.get('flood_requests', 0)} solicitudes, "
                    f"{r.get('flood_429', 0)} respuestas 429, {r.get('flood_refused', 0)} conexiones "
                    f"cortadas o rechazadas"),
                    (f"segundo origen: {r.get('probe_ok', 0)}/{r.get('probe_total', 0)} respuestas 200, "
                    f"p99 {r.get('probe_p99_ms', 'n/d')} ms")]
        limited = r.get("flood_429", 0) + r.get("flood_refused", 0) > 0
        others = (r.get("probe_total", 0) > 0 and r.get("probe_ok") == r.get("probe_total")
                  and r.get("probe_p99_ms", 1e9) < 500)
        return Outcome({"limited": limited, "others_served": others}, evidence)


class HaFailover(Injector):
    """The HA master's nginx stops; keepalived must move the floating address."""

    def _holder(self) -> str | None:
        held = holders(self.drill.floating_address, self.drill.ha_pair,
                       lambda name, command: self.drill.run(name, command).stdout)
        return held[0] if held else None

    def start(self):
        super().start()
        self.master = self._holder()
        self.moved_to = None
        if self.master:
            self.drill.run(self.master, "sudo systemctl stop nginx")
            deadline = time.time() + 15
            while time.time() < deadline:
                holder = self._holder()
                if holder and holder != self.master:
                    self.moved_to, self.moved_after = holder, time.time() - self.started_at
                    break
                time.sleep(0.25)

    def stop(self):
        if self.master:
            self.drill.run(self.master, "sudo systemctl start nginx")
        super().stop()

    def excuses(self, difusor, period):
        # The stopped node still activates cuts, but with its web server down nobody can
        # see them: its own delivery is judged again once nginx is back.
        return difusor == getattr(self, "master", None) and self.fault.at <= period <= self.end_period

    def outcome(self):
        rows = self.drill.observer.states_between("flotante", self.started_at,
                                                  self.stopped_at or time.time())
        outage = _error_seconds(rows, self.started_at, self.stopped_at or time.time())
        evidence = [f"maestro {self.master}: nginx detenido"]
        if self.moved_to:
            evidence.append(f"la dirección flotante pasó a {self.moved_to} en {self.moved_after:.1f} s")
        evidence.append(f"sitio sin respuesta en la dirección flotante durante {outage:.1f} s")
        return Outcome({"address_moves": self.moved_to is not None,
                        "site_answers": outage < self.drill.period_s}, evidence)


class PublisherRestart(Injector):
    """The publisher service is restarted while it pushes the period's cut."""

    def start(self):
        super().start()
        self.pending = True  # after_drop calls `during_push` once the cut is dropped

    def after_drop(self, period):
        if period == self.fault.at:
            self.guarded("restart", self.during_push)

    def during_push(self):
        time.sleep(min(1.0, self.drill.period_s / 10))
        self.drill.run(self.drill.publisher, "sudo systemctl restart prep-publisher.service")
        self.pending = False

    def excuses(self, difusor, period):
        return period == self.fault.at

    def outcome(self):
        nxt = self.drill.cut_of_period(self.fault.at + 1)
        if nxt is None:
            return Outcome({"next_cut_delivered": False}, ["la noche terminó antes del corte siguiente"])
        late = []
        for d in self.drill.difusor_names:
            seen = self.drill.observer.first_seen(d, nxt["id"])
            if seen is None or seen - nxt["produced_at"] > self.drill.period_s:
                late.append(d)
        return Outcome({"next_cut_delivered": not late},
                       [f"corte {nxt['id']}: " + ("llegó a todos" if not late else
                                                  f"tarde o ausente en {', '.join(late)}")])


def _error_seconds(rows, start: float, end: float) -> float:
    """Seconds within [start, end] during which the last observation was an error."""
    total, current_err, since = 0.0, False, start
    for row in rows:
        at = max(row.at, start)
        if current_err:
            total += at - since
        current_err, since = row.error is not None, at
    if current_err:
        total += end - since
    return total


INJECTORS = {P.NetworkCut: NetworkCut, P.Freeze: Freeze, P.CorruptCut: CorruptCut, P.UpsOnBattery: UpsOnBattery,
             P.Flood: Flood, P.HaFailover: HaFailover, P.PublisherRestart: PublisherRestart}


def injector_for(drill, fault) -> Injector:
    return INJECTORS[type(fault)](drill, fault)

