"""The web tier's variant of a lab inventory: short period, portal origin on the lab bridge,
an HA pair. Written beside the lab's own inventory, in the same format."""

import datetime as dt
import ipaddress
from pathlib import Path

import yaml

from prep_iac.inventory.schema import accelerated_calendar


def gateway(subnet: str) -> str:
    """The controller's address on the lab bridge (the subnet's first address)."""
    return str(next(ipaddress.ip_network(subnet).hosts()))


def floating(subnet: str) -> str:
    net = ipaddress.ip_network(subnet)
    return f"{net.network_address + 50}/{net.prefixlen}"


def write_variant(lab_inventory: Path, subnet: str, portal_origin: str, period_s: int = 10,
                  ha: bool = True, opens_in: dt.timedelta = -dt.timedelta(hours=1),
                  rate_limits: dict | None = None, suffix: str = "web",
                  tls_for: dict[str, dict] | None = None) -> Path:
    data = yaml.safe_load(Path(lab_inventory).read_text())
    iec = data["iec"]
    iec["period_s"] = period_s
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    opens = now + opens_in
    iec["calendar"] = accelerated_calendar(opens, opens + dt.timedelta(hours=23),
                                           now + dt.timedelta(days=10),
                                           iec["calendar"]["timezone"])
    names = sorted(data["difusores"])
    for name in names:
        d = data["difusores"][name]
        d["portal_origins"] = [portal_origin, "http://portal.lab"]
        d["server_names"] = [f"{name}.lab", "prep.lab"]
        if rate_limits:
            d["rate_limits"] = rate_limits
        d.pop("ha", None)
        if tls_for and name in tls_for:
            d["tls"] = tls_for[name]
    if ha and len(names) >= 2:
        a, b = names[:2]
        for me, peer, prio in ((a, b, 150), (b, a, 100)):
            data["difusores"][me]["ha"] = {"peer": peer, "floating_address": floating(subnet),
                                           "router_id": 83, "priority": prio}
    out = Path(lab_inventory).with_name(Path(lab_inventory).stem + f"-{suffix}.yml")
    out.write_text("# Written by tests/lab/web: the lab inventory with the web tier's test "
                   "settings.\n" + yaml.safe_dump(data, sort_keys=False, width=200))
    return out
