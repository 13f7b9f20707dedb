"""Before the night: the lab, the drill's own inventory, the real deploys, a conformance run."""

from __future__ import annotations

import datetime as dt
import ipaddress
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from prep_iac.errors import PrepError
from prep_iac.inventory import load_inventory
from prep_iac.pyinfra_run import DeployResult, run_deploy

LAB_NAME = "simulacro"
LAB_SUBNET = "10.88.0.0/24"
HA_ROUTER_ID = 88
WINDOW_FMT = "%Y-%m-%d %H:%M:%S"
# Time to deploy the night's window: a re-run of the difusor deploy (5 s for one host
# here, 15 s for five), with room to spare.
WINDOW_LEAD_S, WINDOW_LEAD_PER_HOST_S = 20, 5


def drill_inventory(lab_inventory: Path, out: Path, period_s: int, ha: bool) -> Path:
    """The lab's inventory with the drill's period and, with --ha, difusor-1 and difusor-2
    as an HA pair on a floating address. Written beside the drill's results."""
    data = yaml.safe_load(lab_inventory.read_text())
    data["iec"]["period_s"] = period_s
    _closed_until_the_night(data)
    if ha:
        names = sorted(data["difusores"])[:2]
        if len(names) < 2:
            raise PrepError("an HA pair needs two difusores", "use --difusores 2 or more with --ha")
        first = ipaddress.ip_address(data["difusores"][names[0]]["address"])
        net = ipaddress.ip_network(f"{first}/24", strict=False)
        floating = f"{net.network_address + 100}/{net.prefixlen}"
        for name, peer, priority in ((names[0], names[1], 150), (names[1], names[0], 100)):
            data["difusores"][name]["ha"] = {"peer": peer, "floating_address": floating,
                                            "router_id": HA_ROUTER_ID, "priority": priority}
    out.mkdir(parents=True, exist_ok=True)
    path = out / "inventario.yml"
    path.write_text("# prep-iac simulacro: the lab's inventory with the drill's settings\n"
                    + yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    load_inventory(path)  # the drill's changes must still be a valid inventory
    return path


def _closed_until_the_night(data: dict) -> None:
    """A window that opens tomorrow. Were it open during setup, every watchdog would show the
    notice until the first cut (a false incident in the memoria); open_window sets the
    night's own window once the hosts are ready."""
    window = data["iec"]["window"]
    now = dt.datetime.now(ZoneInfo(window["timezone"]))
    window["opens"] = (now + dt.timedelta(days=1)).strftime(WINDOW_FMT)
    window["closes"] = (now + dt.timedelta(days=2)).strftime(WINDOW_FMT)


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
    """Rewrite the drill inventory's window, validated before it replaces the file (a drill
    never leaves an inventory the deploys would refuse)."""
    text = inventory.read_text()
    data = yaml.safe_load(text)
    window = data["iec"]["window"]
    tz = ZoneInfo(window["timezone"])
    window["opens"] = opens.astimezone(tz).strftime(WINDOW_FMT)
    window["closes"] = closes.astimezone(tz).strftime(WINDOW_FMT)
    staged = inventory.with_name(inventory.name + ".tmp")
    staged.write_text(text.split("\n", 1)[0] + "\n"
                      + yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    try:
        load_inventory(staged)
    except BaseException:
        staged.unlink()
        raise
    staged.replace(inventory)


def open_window(inventory: Path, difusores: int, cuts: int, period_s: int, out: Path) -> float:
    """Set the night's window and deploy it to the difusores (their watchdog and pages);
    returns the wall time of the first cut, when the window opens."""
    started = time.time()
    lead = WINDOW_LEAD_S + WINDOW_LEAD_PER_HOST_S * difusores
    opens, closes = night_window(dt.datetime.now(dt.UTC), cuts, period_s, lead)
    set_window(inventory, opens, closes)
    require_ok({"difusor": run_deploy(inventory, "deploys/difusor.py", limit="difusores")},
                "window", out)
    if time.time() > opens.timestamp():
        raise PrepError(f"deploying the night's window took {time.time() - started:.0f} s, "
                        f"more than the {lead} s the drill allows for it",
                        "check the difusores' load and network, then run the drill again")
    return opens.timestamp()


def with_period(inventory: Path, out: Path, period_s: int) -> Path:
    """A copy of a real inventory with the drill's period, beside the drill's results."""
    data = yaml.safe_load(inventory.read_text())
    data["iec"]["period_s"] = period_s
    _closed_until_the_night(data)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "inventario.yml"
    path.write_text(f"# prep-iac simulacro: {inventory} with the drill's period\n"
                    + yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    load_inventory(path)
    return path


def deploy_all(inventory: Path) -> dict[str, DeployResult]:
    """Difusores and publishers at once (pyinfra is parallel over hosts within each)."""
    jobs = {"difusor": ("deploys/difusor.py", "difusores"),
            "publisher": ("deploys/publisher.py", "publishers")}
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
