"""The drill talks to its fault injectors only through hooks (faults.py), and the verdicts
(verdicts.py) decide what passes: a fake night, with every default fault, on a fake drill
that records what the injectors would have done to the hosts."""

import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from prep_iac.simulacro import faults as F
from prep_iac.simulacro import verdicts
from prep_iac.simulacro.drill import faulty_cut, hand_over
from prep_iac.simulacro.plan import default_plan


class FakeObserver:
    def __init__(self, seen=None):
        self.seen = seen or {}  # (difusor, cut id) -> wall time

    def first_seen(self, difusor, corte, after=0.0):
        at = self.seen.get((difusor, corte))
        return at if at is not None and at >= after else None

    def first_seen_any_after(self, difusor, after):
        return None

    def states_between(self, difusor, start, end):
        return []


class FakeDrill:
    """What the injectors use of a Drill: everything they do to a host is recorded."""

    def __init__(self):
        self.calls: list[tuple] = []
        self.logged: list[str] = []
        self.period_s = 6
        self.difusor_names = ["difusor-1", "difusor-2"]
        self.publisher = "publisher-1"
        self.ha_pair = ["difusor-1", "difusor-2"]
        self.floating_address = "10.88.0.100/24"
        self.targets = {n: SimpleNamespace(name=n) for n in self.difusor_names}
        self.observer = FakeObserver()
        self.lab = SimpleNamespace(nsenter=self.nsenter)
        self.cuts: list[dict] = []
        self.inventory = SimpleNamespace(publishers={"publisher-1": SimpleNamespace(
            address="10.88.0.20", state_dir="/var/lib/prep-publisher")})

    def nsenter(self, host, cmd, **kw):
        self.calls.append(("nsenter", host, " ".join(cmd)) + ((kw["input"],) if "input" in kw
                                                              else ()))
        return subprocess.CompletedProcess([], 0, "", "")

    def log(self, message):
        self.logged.append(message)

    def run(self, host, command, text=True):
        self.calls.append(("run", host, command))
        out = '{"corte": "C9"}' if "estado.json" in command else "firmado"
        return subprocess.CompletedProcess([], 0, out if text else out.encode(), "")

    def publisher_states(self, difusor):
        return []

    def cut_of_period(self, period):
        return next((c for c in self.cuts if c["period"] == period), None)


@pytest.fixture
def night(monkeypatch):
    """Every default fault (with HA) through a fake night of 30 periods: the hooks in the
    order the drill calls them (drill.night), with the hosts and the clock faked."""
    monkeypatch.setattr(time, "sleep", lambda s: None)
    monkeypatch.setattr("prep_iac.simulacro.flood.flood_and_measure",
                        lambda lab, target, seconds: {"flood_429": 3, "probe_total": 2,
                                                      "probe_ok": 2, "probe_p99_ms": 20})
    drill = FakeDrill()
    plan = default_plan(2, ha=True, first=5)
    injectors = [F.injector_for(drill, f) for f in plan.faults]
    pushed, dropped = [], []
    for inj in injectors:
        if isinstance(inj, F.CorruptCut):  # the test may look: the drill never does
            inj.push = lambda folder, cut_id: pushed.append(cut_id)
        if isinstance(inj, F.Freeze):  # what the difusor answers each re-sent copy
            inj.replay = lambda inj=inj: inj.replays.append(
                "refused: not newer than what is served (secuencia 5 <= 5)")
    for period in range(30):
        for inj in injectors:
            inj.before_cut(period)
        folder = Path(f"/cortes/C{period}")
        drill.cuts.append({"period": period, "id": folder.name, "produced_at": float(period),
                           "corrupt": faulty_cut(injectors, period), "delays": {}})
        hand_over(injectors, period, folder, dropped.append)
    for inj in injectors:
        inj.after_night()
    return SimpleNamespace(drill=drill, plan=plan, injectors=injectors, pushed=pushed,
                           dropped=dropped)


def test_every_fault_starts_at_its_period_and_is_put_back(night):
    for inj in night.injectors:
        assert inj.error is None, (inj.fault.kind, inj.error)
        assert inj.started_at and inj.stopped_at and not inj.running, inj.fault.kind
    assert [m.split(": ")[1] for m in night.drill.logged] == [
        f"falla {f.kind} {getattr(f, 'target', '')}".rstrip() for f in night.plan.faults]


def test_the_corrupt_cut_is_delivered_by_its_fault_and_never_dropped(night):
    at = next(f.at for f in night.plan.faults if f.kind == "corrupt_cut")
    assert night.pushed == [f"C{at}"]
    assert Path(f"/cortes/C{at}") not in night.dropped and len(night.dropped) == 29
    assert [c["period"] for c in night.drill.cuts if c["corrupt"]] == [at]


def test_each_fault_acts_on_its_host_in_order(night):
    calls = night.drill.calls
    cut = next(f for f in night.plan.faults if f.kind == "network_cut")
    assert ("nsenter", cut.target, "ip link set host0 down") in calls
    assert calls.index(("nsenter", cut.target, "ip link set host0 down")) < calls.index(
        ("nsenter", cut.target, "ip link set host0 up"))
    ups = [c for c in calls if c[0] == "run" and "ups.status" in c[2]]
    assert [c[2].split("ups.status: ")[1].split("/")[0] for c in ups] == ["OB", "OL"]
    assert ("run", "publisher-1", "sudo systemctl restart prep-publisher.service") in calls
    freeze = next(f for f in night.plan.faults if f.kind == "freeze")
    walls = [c for c in calls if c[0] == "nsenter" and c[1] == freeze.target and "nft" in c[2]]
    assert walls[0][2] == "nft -f -" and "ip saddr 10.88.0.20 tcp dport 22 drop" in walls[0][3]
    assert walls[-1][2] == "nft delete table inet prep_drill_freeze"
    # what it re-sends is the publisher's own last signature of the served cut
    assert ("run", "publisher-1", "sudo cat /var/lib/prep-publisher/firmados/C9.json") in calls


def test_the_verdicts_judge_every_fault_against_its_expectation(night):
    restart = next(f for f in night.plan.faults if f.kind == "publisher_restart")
    for name in night.drill.difusor_names:  # the cut after the restart, seen in time
        night.drill.observer.seen[(name, f"C{restart.at + 1}")] = restart.at + 2.0
    rows = {r["kind"]: r for r in verdicts.judge_faults(night.injectors)}
    assert set(rows) == {f.kind for f in night.plan.faults}
    assert rows["publisher_restart"]["ok"] and rows["flood"]["ok"]
    # no journal, no refusals in a fake night: those faults did not do what they expect
    assert rows["network_cut"]["observed"]["aviso"] is False and not rows["network_cut"]["ok"]
    assert rows["corrupt_cut"]["observed"] == {"refused": False} and not rows["corrupt_cut"]["ok"]
    # every copy refused, one per period after the first: that part of the freeze held
    assert rows["freeze"]["observed"]["replays_refused"] is True
    assert "3 de 3 reenvíos del corte C9 rechazados" in rows["freeze"]["evidence"][0]


def test_a_fault_that_failed_to_inject_fails_with_its_error():
    class Broken(F.Injector):
        def start(self):
            raise RuntimeError("no such host")

        def outcome(self):
            raise AssertionError("not asked: injecting it failed")

    fault = default_plan(2, ha=False).faults[0]
    inj = Broken(FakeDrill(), fault)
    inj.before_cut(fault.at)
    row = verdicts.judge_fault(inj)
    assert row["ok"] is False and "no such host" in row["evidence"][-1]


def test_fault_ok_compares_every_expected_key():
    outcome = F.Outcome({"aviso": True, "suspended": True, "recovers": False})
    assert not verdicts.fault_ok({"aviso": True, "recovers": True}, outcome, None)
    assert verdicts.fault_ok({"aviso": True, "recovers": False}, outcome, None)
    assert not verdicts.fault_ok({"aviso": True}, outcome, "start: boom")


def test_propagation_excuses_faults_and_overtaken_cuts():
    cuts = [{"period": 0, "id": "A", "corrupt": False, "delays": {"d1": 1.0, "d2": None}},
            {"period": 1, "id": "B", "corrupt": True, "delays": {"d1": None, "d2": None}},
            {"period": 2, "id": "C", "corrupt": False, "delays": {"d1": 7.0, "d2": 2.0}}]
    observer = FakeObserver({("d2", "B"): 5.0})
    check = verdicts.propagation_check(cuts, ["d1", "d2"], 6, observer, lambda d, p: False)
    assert not check["ok"] and check["detail"] == "d1 C: 7.0 s"  # d2 A: overtaken by B
    check = verdicts.propagation_check(cuts, ["d1", "d2"], 6, observer,
                                       lambda d, p: d == "d1" and p == 2)
    assert check["ok"] and check["detail"] == "2 cortes × 2 difusores"


def test_the_night_passes_only_when_everything_did():
    ok, bad = {"ok": True}, {"ok": False}
    assert verdicts.night_ok([ok], [ok]) and not verdicts.night_ok([ok], [bad])
    assert verdicts.conformance_check("x", {})["detail"] == "no se ejecutó"
    second = {"difusor": SimpleNamespace(changed=0), "publisher": SimpleNamespace(changed=2)}
    assert not verdicts.idempotence_check(second, 12.3)["ok"]



def test_a_corrupt_cut_refused_for_another_reason_is_not_the_fault_caught():
    """A drill once saw every difusor refuse its corrupt cut as drill material (its signer
    was still in the drill stage): refused, but not for the tampered file."""
    fault = next(f for f in default_plan(2, ha=False).faults if f.kind == "corrupt_cut")
    inj = F.CorruptCut(FakeDrill(), fault)
    inj.cut_id = "C15"
    inj.results = [SimpleNamespace(difusor=d, result="refused",
                                   reason="drill material after the PREP opened")
                   for d in ("difusor-1", "difusor-2")]
    assert inj.outcome().observed == {"refused": False}
    inj.results = [SimpleNamespace(difusor=d, result="refused",
                                   reason="hash mismatch for 'index.html'")
                   for d in ("difusor-1", "difusor-2")]
    assert inj.outcome().observed == {"refused": True}


def test_the_first_error_of_an_injection_is_the_one_kept():
    fault = next(f for f in default_plan(2, ha=False).faults if f.kind == "freeze")
    inj = F.Freeze(FakeDrill(), fault)
    inj.guarded("start", lambda: 1 / 0)
    inj.guarded("replay", lambda: {}["saved"])
    assert inj.error.startswith("start: ZeroDivisionError")
