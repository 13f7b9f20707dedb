"""The fault plan of a drill: what goes wrong, when, and what must happen because of it.

Times are in periods from the start of the night (period 0 is the first cut). Each fault
says what the drill must observe (`expect`); a plan that expects the wrong outcome makes the
drill fail, which is how we know the checks are real.
"""

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from prep_iac.contract import MISSED_PERIODS
from prep_iac.errors import PrepError


class _Expect(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NetworkCutExpect(_Expect):
    aviso: bool = True  # the difusor's own watchdog shows the notice
    suspended: bool = True  # the publisher suspends it and drops it from the list
    recovers: bool = True  # back to active, serving the latest cut, after the cut ends


class FreezeExpect(_Expect):
    replays_refused: bool = True  # every re-sent copy of the served cut is refused
    aviso: bool = True  # the site does not look fresh: the notice shows after 3 periods
    suspended: bool = True  # the publisher cannot reach it: suspended, off the list
    recovers: bool = True


class CorruptCutExpect(_Expect):
    refused: bool = True  # refused by every difusor; the previous cut stays served


class UpsExpect(_Expect):
    notified: bool = True  # on-battery and back-online notices in the difusor's journal
    keeps_serving: bool = True


class FloodExpect(_Expect):
    limited: bool = True  # the flooding source gets 429s or dropped connections
    others_served: bool = True  # a second source is still served, p99 under 500 ms


class HaExpect(_Expect):
    address_moves: bool = True
    site_answers: bool = True


class RestartExpect(_Expect):
    next_cut_delivered: bool = True  # the following cut reaches every difusor


class _Fault(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    at: int = Field(ge=1, description="period at which the fault starts")


class NetworkCut(_Fault):
    """A difusor loses its network: it must show the notice by itself, be suspended at the
    publisher, drop from the public list, then recover when the network returns."""

    kind: Literal["network_cut"]
    target: str = "difusor-2"
    periods: int = Field(MISSED_PERIODS + 1, ge=1)  # long enough for the notice, and one more
    expect: NetworkCutExpect = NetworkCutExpect()


class Freeze(_Fault):
    """Someone with the jail's key re-sends the served cut, unchanged, every period, while
    the publisher cannot reach the difusor: a replay must never keep a frozen site fresh."""

    kind: Literal["freeze"]
    target: str = "difusor-1"
    periods: int = Field(MISSED_PERIODS + 1, ge=1)
    expect: FreezeExpect = FreezeExpect()


class CorruptCut(_Fault):
    """The Institute pushes a cut whose files do not match the signed manifest."""

    kind: Literal["corrupt_cut"]
    expect: CorruptCutExpect = CorruptCutExpect()


class UpsOnBattery(_Fault):
    kind: Literal["ups_on_battery"]
    target: str = "difusor-1"
    periods: int = Field(2, ge=1)
    expect: UpsExpect = UpsExpect()


class Flood(_Fault):
    kind: Literal["flood"]
    target: str = "difusor-1"
    seconds: int = Field(8, ge=1, le=60)
    expect: FloodExpect = FloodExpect()


class HaFailover(_Fault):
    """The HA master's nginx stops: the floating address must move, the site keep answering."""

    kind: Literal["ha_failover"]
    periods: int = Field(2, ge=1)
    expect: HaExpect = HaExpect()


class PublisherRestart(_Fault):
    """The publisher service restarts in the middle of a push."""

    kind: Literal["publisher_restart"]
    expect: RestartExpect = RestartExpect()


Fault = Annotated[NetworkCut | Freeze | CorruptCut | UpsOnBattery | Flood | HaFailover
                  | PublisherRestart, Field(discriminator="kind")]

class Plan(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    faults: list[Fault] = []

    def last_period(self) -> int:
        ends = [f.at + getattr(f, "periods", 1) for f in self.faults]
        return max(ends, default=0)

    def needs_ha(self) -> bool:
        return any(isinstance(f, HaFailover) for f in self.faults)


def default_plan(difusores: int, ha: bool, first: int = 8) -> Plan:
    """Every fault the drill knows, from period `first` on, spaced so their effects do not
    overlap (a network cut needs MISSED_PERIODS periods to show the notice and one more to
    recover; the restart is judged by the cut after it, which the freeze must not hold)."""
    cut_target = f"difusor-{difusores}"
    faults: list[dict] = [
        {"kind": "corrupt_cut", "at": first},
        {"kind": "ups_on_battery", "at": first + 1, "target": "difusor-1", "periods": 1},
        {"kind": "flood", "at": first + 3, "target": "difusor-1", "seconds": 6},
        {"kind": "network_cut", "at": first + 5, "target": cut_target,
         "periods": MISSED_PERIODS + 1},
        {"kind": "publisher_restart", "at": first + 13},
        {"kind": "freeze", "at": first + 15, "target": "difusor-1",
         "periods": MISSED_PERIODS + 1},
    ]
    if ha:
        faults.append({"kind": "ha_failover", "at": first + 10, "periods": 2})
    return Plan.model_validate({"faults": sorted(faults, key=lambda f: f["at"])})


def load_plan(spec: str, difusores: int, ha: bool, first: int = 8) -> Plan:
    """`default`, `none`, or the path of a YAML plan."""
    if spec == "default":
        return default_plan(difusores, ha, first)
    if spec == "none":
        return Plan()
    path = Path(spec)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PrepError(f"fault plan {path} does not exist",
                        "give --faults default, none, or the path of a YAML plan") from None
    except yaml.YAMLError as exc:
        raise PrepError(f"fault plan {path} is not valid YAML: {exc}", "fix its syntax") from None
    try:
        plan = Plan.model_validate(data or {})
    except ValidationError as exc:
        lines = [f"  {'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise PrepError(f"fault plan {path} is not valid:\n" + "\n".join(lines),
                        "see docs/simulacro.md for the fault kinds and their fields") from None
    return plan


def check_schedule(plan: Plan, periods: int, quiet: int) -> None:
    """The night holds its two conformance runs (the opening one at period 1, the closing
    one `quiet` periods before the end), and faults stay clear of both."""
    if periods < quiet + 2:
        raise PrepError(f"the night has {periods} periods; its conformance runs need at least "
                        f"{quiet + 2} (the closing one starts {quiet} periods before the last "
                        "cut, after the opening one)",
                        "lengthen the night (--hasta), or the period (--periodo: a longer "
                        "one needs fewer quiet periods)")
    needed = plan.last_period() + quiet + 1
    if plan.faults and periods < needed:
        raise PrepError(f"the night has {periods} periods; this fault plan needs {needed} "
                        f"(faults until period {plan.last_period()}, then {quiet} quiet periods "
                        "for the closing conformance run)",
                        "lengthen the night (--hasta) or lengthen the period (--periodo), "
                        "or use --faults none")
    for fault in plan.faults:
        end = fault.at + getattr(fault, "periods", 1)
        if fault.at <= quiet or end >= periods - quiet:
            raise PrepError(f"fault {fault.kind} at period {fault.at} falls in the first or last "
                            f"{quiet} periods, kept for the conformance runs (the night has "
                            f"{periods} periods)", f"schedule it between periods {quiet + 1} and "
                            f"{periods - quiet - 2}, or lengthen the night (--hasta)")


LAB_ONLY = {"network_cut": "cuts a host's link from the lab's side",
            "freeze": "firewalls the publisher off from inside the host's namespaces",
            "flood": "floods from an extra address on the lab's bridge",
            "ups_on_battery": "plays the lab's dummy UPS through its state file"}


def check_lab_only(plan: Plan) -> None:
    """On real hosts the drill cannot cut a link or borrow an address: say so up front."""
    for fault in plan.faults:
        if fault.kind in LAB_ONLY:
            raise PrepError(f"fault {fault.kind} at period {fault.at} only runs on the lab "
                            f"(it {LAB_ONLY[fault.kind]})",
                            "on real hosts give a plan file without it (corrupt_cut, "
                            "publisher_restart and ha_failover run anywhere), or --faults none")


def check_targets(plan: Plan, difusores: list[str], ha: bool) -> None:
    for fault in plan.faults:
        target = getattr(fault, "target", None)
        if target is not None and target not in difusores:
            raise PrepError(f"fault {fault.kind} at period {fault.at} targets {target!r}, "
                            f"which is not a difusor of this drill ({', '.join(difusores)})",
                            "name one of those difusores, or change --difusores")
        if isinstance(fault, HaFailover) and not ha:
            raise PrepError(f"fault ha_failover at period {fault.at} needs an HA pair",
                            "run the drill with --ha, or remove that fault")
