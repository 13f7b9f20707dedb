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
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from prep_iac.errors import PrepError
from prep_iac.inventory import Inventory, InventoryError, load_inventory
from prep_iac.inventory.messages import problems_from
from prep_iac.inventory.roles import DIFUSOR, ROLE_GROUPS
from prep_iac.inventory.schema import Iec, Strict
from prep_iac.inventory.yamlfile import YamlDocument
from prep_iac.pyinfra_run import DeployResult, run_deploy

LAB_NAME = "simulacro"
LAB_SUBNET = "10.88.0.0/24"
HA_ROUTER_ID = 88
WINDOW_FMT = "%Y-%m-%d %H:%M:%S"
# Time to deploy the night's window: a re-run of the difusor deploy (5 s for one host
# here, 15 s for five), with room to spare.
WINDOW_LEAD_S, WINDOW_LEAD_PER_HOST_S = 20, 5
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
    """The drill's period, and a window that opens tomorrow. Were it open during setup, every
    watchdog would show the notice until the first cut (a false incident in the memoria);
    open_window sets the night's own window once the hosts are ready."""
    now = dt.datetime.now(ZoneInfo(iec.window.timezone))
    window = _changed(iec.window, path, opens=(now + dt.timedelta(days=1)).strftime(WINDOW_FMT),
                      closes=(now + dt.timedelta(days=2)).strftime(WINDOW_FMT))
    return _changed(iec, path, period_s=period_s, window=window)


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


def night_window(now: dt.datetime, cuts: int, period_s: int,
                 lead_s: float) -> tuple[dt.datetime, dt.datetime]:
    """(opens, closes) for an accelerated night of `cuts` cuts, the first `lead_s` from now.

    It opens with the first cut and closes one period after the last, so each watchdog
    shows `por-abrir` through setup and `cerrado` while the drill collects the logs, and
    the notice only when cuts really stop during the night.
    """
    opens = (now + dt.timedelta(seconds=lead_s)).replace(microsecond=0) + dt.timedelta(seconds=1)
    return opens, opens + dt.timedelta(seconds=cuts * period_s)


def set_window(inventory: Path, opens: dt.datetime, closes: dt.datetime) -> None:
    """Change the drill inventory's window, validated before it replaces the file (a drill
    never leaves an inventory the deploys would refuse)."""
    inv = load_inventory(inventory)
    tz = ZoneInfo(inv.iec.window.timezone)
    window = _changed(inv.iec.window, inventory, opens=opens.astimezone(tz).strftime(WINDOW_FMT),
                      closes=closes.astimezone(tz).strftime(WINDOW_FMT))
    header = inventory.read_text(encoding="utf-8").split("\n", 1)[0]
    iec = _changed(inv.iec, inventory, window=window)
    write_inventory(inventory, _changed(inv, inventory, iec=iec), header)


def open_window(inventory: Path, difusores: int, cuts: int, period_s: int, out: Path) -> float:
    """Set the night's window and deploy it to the difusores (their watchdog and pages);
    returns the wall time of the first cut, when the window opens."""
    started = time.time()
    lead = WINDOW_LEAD_S + WINDOW_LEAD_PER_HOST_S * difusores
    opens, closes = night_window(dt.datetime.now(dt.UTC), cuts, period_s, lead)
    set_window(inventory, opens, closes)
    require_ok({DIFUSOR: run_deploy(inventory, f"deploys/{DIFUSOR}.py",
                                    limit=ROLE_GROUPS[DIFUSOR])},
                "window", out)
    if time.time() > opens.timestamp():
        raise PrepError(f"deploying the night's window took {time.time() - started:.0f} s, "
                        f"more than the {lead} s the drill allows for it",
                        "check the difusores' load and network, then run the drill again")
    return opens.timestamp()


def with_period(inventory: Path, out: Path, period_s: int) -> Path:
    """A copy of a real inventory with the drill's period, beside the drill's results."""
    inv = load_inventory(inventory)
    path = out / "inventario.yml"
    write_inventory(path, _changed(inv, inventory, iec=_drill_iec(inv.iec, period_s, inventory)),
                    f"# prep-iac simulacro: {inventory} with the drill's period")
    return path


def deploy_all(inventory: Path) -> dict[str, DeployResult]:
    """Difusores and publishers at once (pyinfra is parallel over hosts within each)."""
    jobs = {role: (f"deploys/{role}.py", group) for role, group in ROLE_GROUPS.items()}
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {role: pool.submit(run_deploy, inventory, f, limit=group)
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
