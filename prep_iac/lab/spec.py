"""A lab's shape, as pure logic: its name, bridge, subnet and the address of every host.

Addresses are fixed by a host's role and number, so growing a lab never moves a host:
difusor-N is the subnet's 10+N-th address, publisher-N its 200+N-th, website-N (the
Institute's web host, which serves the public list) its 250+N-th, and the bridge (the hosts'
gateway) its first.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
from dataclasses import dataclass

from prep_iac.errors import PrepError
from prep_iac.inventory.roles import DIFUSOR, PUBLISHER, ROLE_GROUPS, WEBSITE

DEFAULT_NAME = "lab"
DEFAULT_SUBNET = "10.77.0.0/24"
DIFUSOR_OFFSET, MAX_DIFUSORES = 10, 189
PUBLISHER_OFFSET, MAX_PUBLISHERS = 200, 50
WEBSITE_OFFSET, MAX_WEBSITES = 250, 1
# role -> (how many a lab may have, the offset of number 1's address less one)
NUMBERING = {DIFUSOR: (MAX_DIFUSORES, DIFUSOR_OFFSET), PUBLISHER: (MAX_PUBLISHERS, PUBLISHER_OFFSET),
             WEBSITE: (MAX_WEBSITES, WEBSITE_OFFSET)}
# The shared apt proxy's address (on a dummy link): no lab subnet may contain it.
APT_PROXY_ADDRESS = ipaddress.IPv4Address("10.76.255.254")
NAME_RE = re.compile(r"[a-z][a-z0-9-]{0,19}")  # matched whole
IFNAMSIZ = 15


def check_name(name: str) -> str:
    if not NAME_RE.fullmatch(name) or name.endswith("-"):
        raise PrepError(
            f"bad lab name {name!r}",
            "use 1-20 characters: lower-case letters, digits and '-', starting with a letter "
            "(e.g. labdev)",
        )
    return name


def bridge_name(name: str) -> str:
    """The lab's bridge: readable when it fits in an interface name, else a stable hash."""
    readable = f"prepbr-{name}"
    if len(readable) <= IFNAMSIZ:
        return readable
    return "prepbr-" + hashlib.sha256(name.encode()).hexdigest()[:IFNAMSIZ - 7]


def parse_subnet(text: str) -> ipaddress.IPv4Network:
    try:
        net = ipaddress.IPv4Network(text, strict=True)
    except ValueError as exc:
        raise PrepError(f"bad lab subnet {text!r}: {exc}",
                        "give an IPv4 network of /24 or larger, e.g. 10.81.0.0/24") from None
    if net.prefixlen > 24:
        raise PrepError(f"lab subnet {net} is too small: the lab numbers hosts up to .250",
                        "give a /24 or larger, e.g. 10.81.0.0/24")
    if not net.is_private:
        raise PrepError(f"lab subnet {net} is not a private range",
                        "use a private range such as 10.81.0.0/24")
    if APT_PROXY_ADDRESS in net:
        raise PrepError(f"lab subnet {net} contains the apt proxy's address {APT_PROXY_ADDRESS}",
                        "pick another range, e.g. 10.81.0.0/24")
    return net


def difusor_name(n: int) -> str:
    return f"{DIFUSOR}-{n}"


def publisher_name(n: int) -> str:
    return f"{PUBLISHER}-{n}"


def website_name(n: int) -> str:
    return f"{WEBSITE}-{n}"


def role_of(host: str) -> str:
    role, _, number = host.rpartition("-")
    if role not in ROLE_GROUPS or not number.isdigit():
        raise PrepError(f"{host!r} is not a lab host name", "use difusor-N, publisher-N or website-N")
    return role


@dataclass(frozen=True)
class LabSpec:
    name: str = DEFAULT_NAME
    subnet: str = DEFAULT_SUBNET
    release: str = "bookworm"

    def __post_init__(self):
        check_name(self.name)
        parse_subnet(self.subnet)

    @classmethod
    def from_env(cls, name: str | None = None, subnet: str | None = None, **kw) -> LabSpec:
        return cls(name=name or os.environ.get("PREP_LAB_NAME") or DEFAULT_NAME,
                   subnet=subnet or os.environ.get("PREP_LAB_SUBNET") or DEFAULT_SUBNET, **kw)

    @property
    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.subnet)

    @property
    def bridge(self) -> str:
        return bridge_name(self.name)

    @property
    def gateway(self) -> str:
        return str(self.network.network_address + 1)

    def address(self, host: str) -> str:
        role = role_of(host)
        number = int(host.rpartition("-")[2])
        limit, offset = NUMBERING[role]
        if not 1 <= number <= limit:
            raise PrepError(f"{host}: a lab has {role}s 1 to {limit}", f"ask for at most {limit}")
        return str(self.network.network_address + offset + number)

    def host_names(self, difusores: int, publishers: int, websites: int = 0) -> list[str]:
        if difusores < 0 or publishers < 0 or websites < 0 or difusores + publishers == 0:
            raise PrepError("a lab needs at least one host", "use --difusores 1 or more")
        if difusores > MAX_DIFUSORES or publishers > MAX_PUBLISHERS or websites > MAX_WEBSITES:
            raise PrepError(f"at most {MAX_DIFUSORES} difusores, {MAX_PUBLISHERS} publishers "
                            f"and {MAX_WEBSITES} website", "ask for fewer hosts")
        return ([difusor_name(i) for i in range(1, difusores + 1)]
                + [publisher_name(i) for i in range(1, publishers + 1)]
                + [website_name(i) for i in range(1, websites + 1)])

    def machine_name(self, host: str) -> str:
        """nspawn's machine name: unique across labs, so its veth names never collide."""
        return f"{self.name}-{host}"

    def inventory_file(self) -> str:
        return "lab.yml" if self.name == DEFAULT_NAME else f"lab-{self.name}.yml"
