"""Before the night: the lab, the drill's own inventory, the real deploys, a conformance run.

The drill changes an inventory only through the typed model: load_inventory, then
with_changes() (validated again), then Inventory.dump() to YAML — never by editing its text."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError

from prep_iac import contract
from prep_iac.errors import PrepError
from prep_iac.inventory import Inventory, InventoryError, load_inventory
from prep_iac.inventory.messages import problems_from
from prep_iac.inventory.roles import ROLE_GROUPS
from prep_iac.inventory.schema import Iec, Strict, accelerated_calendar
from prep_iac.inventory.yamlfile import YamlDocument
from prep_iac.pyinfra_run import DeployResult, deploy_timeout, run_deploy

LAB_NAME = "simulacro"
LAB_SUBNET = "10.88.0.0/24"
HA_ROUTER_ID = 88
# Time to deploy the night's calendar, deploys/calendar.py (a few files a host): 30 s and
# 2 s a difusor; or, when the drill has just timed its full idempotent re-run (which does all
# the calendar's work and much more), 30 s and half that re-run. Measured: the calendar's
# deploy took 0.22 of the re-run on one difusor and 0.18 on 50 lab difusores under load 100
# (128 s against 717 s), so a half leaves more than twice its time.
WINDOW_LEAD_S, WINDOW_LEAD_PER_HOST_S, WINDOW_LEAD_RERUN_SHARE = 30, 2, 0.5
CALENDAR_DEPLOY = "deploys/calendar.py"
CALENDAR_ROLES = ("difusor", "publisher")  # the roles whose files hold the calendar's dates


def window_lead(difusores: int, rerun_s: float | None = None) -> int:
    """Seconds between setting the night's calendar and the first cut."""
    lead = WINDOW_LEAD_S + WINDOW_LEAD_PER_HOST_S * difusores
    if rerun_s is not None:
        lead = max(lead, WINDOW_LEAD_S + round(WINDOW_LEAD_RERUN_SHARE * rerun_s))
    return lead


# Periods the final results stay up after the PREP closes: more than the periods without a
# cut that raise the notice, so the drill shows a closed PREP is not an interrupted one.
AFTER_CLOSE_PERIODS = contract.MISSED_PERIODS + 2
M = TypeVar("M", bound=Strict)


def lab_name_and_subnet() -> tuple[str, str]:
    """The drill's own lab: `simulacro` on LAB_SUBNET, or PREP_LAB_NAME / PREP_LAB_SUBNET as
    for every lab test, so a drill under test does not take another run's lab."""
    return (os.environ.get("PREP_LAB_NAME") or LAB_NAME,
            os.environ.get("PREP_LAB_SUBNET") or LAB_SUBNET)


def drill_inventory(lab_inventory: Path, out: Path, period_s: int, ha: bool) -> Path:
    """The lab's inventory with the drill's period and, with --ha, difusor-1 and difusor-2
    as an HA pair on a floating address. Written beside the drill's results."""
    inventory = load_inventory(lab_inventory)
    changes = {"iec": _drill_iec(inventory.iec, period_s, lab_inventory)}
    if ha:
        names = sorted(inventory.difusores)[:2]
        if len(names) < 2:
            raise PrepError("an HA pair needs two difusores", "use --difusores 2 or more with --ha")
        first = ipaddress.ip_address(inventory.difusores[names[0]].address)
        net = ipaddress.ip_network(f"{first}/24", strict=False)
        floating = f"{net.network_address + 100}/{net.prefixlen}"
        difusores = dict(inventory.difusores)
        for name, peer, priority in ((names[0], names[1], 150), (names[1], names[0], 100)):
            difusores[name] = _changed(difusores[name], lab_inventory, ha={
                "peer": peer, "floating_address": floating, "router_id": HA_ROUTER_ID,
                "priority": priority})
        changes["difusores"] = difusores
    path = out / "inventario.yml"
    write_inventory(path, _changed(inventory, lab_inventory, **changes),
                    "# prep-iac simulacro: the lab's inventory with the drill's settings")
    return path


def _drill_iec(iec: Iec, period_s: int, path: Path) -> Iec:
    """The drill's period, and an accelerated calendar whose PREP opens tomorrow. Were it
    open during setup, every watchdog would show the notice until the first cut (a false
    incident in the memoria); open_window sets the night's own calendar once the hosts are
    ready."""
    now = dt.datetime.now(dt.UTC)
    opens = now + dt.timedelta(days=1)
    calendar = accelerated_calendar(opens, opens + dt.timedelta(hours=23),
                                    now + dt.timedelta(days=2), iec.calendar.timezone)
    return _changed(iec, path, period_s=period_s, calendar=calendar)


def _changed(model: M, path: Path, **changes) -> M:
    """model.with_changes(...) on a block of the inventory at `path`; what the schema refuses
    is reported like the loader reports it (InventoryError, naming the file)."""
    try:
        return model.with_changes(**changes)
    except ValidationError as exc:
        raise InventoryError(problems_from(exc, YamlDocument(path=path, data=None))) from None


def write_inventory(path: Path, inventory: Inventory, header: str) -> None:
    """Write inventory.dump() under a comment header, validated by the loader (the files it
    names, too) before it replaces `path`: a drill never leaves an inventory the deploys
    would refuse."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(path.name + ".tmp")
    staged.write_text(header.rstrip("\n") + "\n" + inventory.dump())
    try:
        load_inventory(staged)
    except BaseException:
        staged.unlink()
        raise
    staged.replace(path)


def night_calendar(now: dt.datetime, cuts: int, period_s: int, lead_s: float,
                   after_close_periods: int) -> tuple[dt.datetime, dt.datetime, dt.datetime]:
    """(prep_opens, prep_closes, publication_ends) for an accelerated night of `cuts` cuts,
    the first `lead_s` from now.

    The PREP opens with the first cut and closes half a period after the last (whole
    seconds, as the inventory keeps them), so each watchdog shows `por-abrir` through setup;
    the final results then stay up `after_close_periods` periods more.
    """
    opens = (now + dt.timedelta(seconds=lead_s)).replace(microsecond=0) + dt.timedelta(seconds=1)
    last_cut = opens + dt.timedelta(seconds=(cuts - 1) * period_s)
    closes = last_cut + dt.timedelta(seconds=period_s // 2)
    return opens, closes, closes + dt.timedelta(seconds=after_close_periods * period_s)


def set_calendar(inventory: Path, opens: dt.datetime, closes: dt.datetime,
                 ends: dt.datetime) -> None:
    """Give the drill inventory an accelerated calendar with these PREP times, validated
    before it replaces the file (a drill never leaves an inventory the deploys would refuse)."""
    inv = load_inventory(inventory)
    calendar = accelerated_calendar(opens, closes, ends, inv.iec.calendar.timezone)
    header = inventory.read_text(encoding="utf-8").split("\n", 1)[0]
    iec = _changed(inv.iec, inventory, calendar=calendar)
    write_inventory(inventory, _changed(inv, inventory, iec=iec), header)


def open_window(inventory: Path, difusores: int, cuts: int, period_s: int, out: Path,
                rerun_s: float | None = None) -> float:
    """Set the night's calendar and deploy it to every host (deploys/calendar.py: the files
    that hold the dates, not a full re-run); returns the wall time of the first cut, when
    the PREP opens. `rerun_s`: what the last full deploy re-run took."""
    started = time.time()
    lead = window_lead(difusores, rerun_s)
    opens, closes, ends = night_calendar(dt.datetime.now(dt.UTC), cuts, period_s, lead,
                                         AFTER_CLOSE_PERIODS)
    set_calendar(inventory, opens, closes, ends)
    # Both roles: the difusores' watchdogs and activators, and the publisher, which signs
    # production material from the opening and the final cut from the close.
    require_ok(deploy_all(inventory, CALENDAR_DEPLOY, CALENDAR_ROLES), "window", out)
    if time.time() > opens.timestamp():
        raise PrepError(f"deploying the night's calendar took {time.time() - started:.0f} s, "
                        f"more than the {lead} s the drill allows for it",
                        "check the difusores' load and network, then run the drill again")
    return opens.timestamp()


def drill_stage_start(inventory: Path, lead_s: float = 5.0) -> float:
    """The first cut's wall time for a drill on real hosts, which keeps their calendar: only
    before the PREP opens, when everything the publisher signs is drill material that no
    difusor shows the public. After the opening a drill would publish its cuts as results."""
    opens = load_inventory(inventory).iec.calendar.prep_opens_at
    if dt.datetime.now(dt.UTC) >= opens:
        raise PrepError(f"the PREP of {inventory} opened at {opens.isoformat()}: a drill on its "
                        "hosts now would publish drill cuts as the election's results",
                        "drill on the lab (prep-iac simulacro without -i), or on these hosts "
                        "before the opening (the call's drill stage)")
    return time.time() + lead_s


def with_period(inventory: Path, out: Path, period_s: int) -> Path:
    """A copy of a real inventory with the drill's period, beside the drill's results. Its
    calendar stays the real one: the drill runs in the drill stage (drill_stage_start)."""
    inv = load_inventory(inventory)
    path = out / "inventario.yml"
    write_inventory(path, _changed(inv, inventory,
                                   iec=_changed(inv.iec, inventory, period_s=period_s)),
                    f"# prep-iac simulacro: {inventory} with the drill's period")
    return path


def deploy_all(inventory: Path, deploy_file: str | None = None,
               roles: tuple[str, ...] = tuple(ROLE_GROUPS)) -> dict[str, DeployResult]:
    """Each role's deploy (deploys/<role>.py, or `deploy_file` for every role) at once;
    pyinfra is parallel over hosts within each. Each is allowed a time that grows with its
    hosts (they all share the lab's cores)."""
    groups = load_inventory(inventory)
    jobs = {role: (deploy_file or f"deploys/{role}.py", ROLE_GROUPS[role]) for role in roles
            if getattr(groups, ROLE_GROUPS[role])}  # a lab without a website deploys none
    hosts = sum(len(getattr(groups, group)) for _, group in jobs.values())
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = {role: pool.submit(run_deploy, inventory, f, limit=group,
                                     timeout=deploy_timeout(hosts))
                   for role, (f, group) in jobs.items()}
        return {role: fut.result() for role, fut in futures.items()}


def require_ok(results: dict[str, DeployResult], what: str, out: Path) -> None:
    """Every deploy's output is kept; a failed one stops the drill, quoting pyinfra's errors."""
    for role, result in results.items():
        log = out / f"deploy-{role}-{what}.log"
        log.write_text(result.output)
        if not result.ok:
            errors = [line.strip() for line in result.output.splitlines()
                      if "error" in line.lower() and "Grand total" not in line][-12:]
            raise PrepError(f"the {role} deploy failed ({what} run):\n  " + "\n  ".join(errors),
                            f"read {log}; fix the deploy (prep-iac deploy {role} -i "
                            f"{out / 'inventario.yml'} shows it live), then run the drill again")
