"""Before the night: the lab, the drill's own inventory, the real deploys, a conformance run."""

from __future__ import annotations

import ipaddress
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from prep_iac.errors import PrepError
from prep_iac.inventory import load_inventory
from prep_iac.pyinfra_run import DeployResult, run_deploy

LAB_NAME = "simulacro"
LAB_SUBNET = "10.88.0.0/24"
HA_ROUTER_ID = 88


def drill_inventory(lab_inventory: Path, out: Path, period_s: int, ha: bool) -> Path:
    """The lab's inventory with the drill's period and, with --ha, difusor-1 and difusor-2
    as an HA pair on a floating address. Written beside the drill's results."""
    data = yaml.safe_load(lab_inventory.read_text())
    data["iec"]["period_s"] = period_s
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


def with_period(inventory: Path, out: Path, period_s: int) -> Path:
    """A copy of a real inventory with the drill's period, beside the drill's results."""
    data = yaml.safe_load(inventory.read_text())
    data["iec"]["period_s"] = period_s
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
