"""The inventory schema: what a sysadmin writes by hand, validated before anything is deployed.

Unknown keys are errors (extra="forbid"): a misspelt key never passes silently.
"""

import ipaddress
from datetime import datetime
from typing import Literal, Self
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from prep_iac import contract
from prep_iac.inventory.types import (
    AbsPath,
    Address,
    Cidr,
    DnsName,
    Email,
    HostName,
    HttpUrl,
    Line,
    LocalPath,
    LocalTime,
    NutName,
    NutText,
    Origin,
    SshPublicKey,
    TimeZoneName,
    UnixName,
    UpsPort,
    ip_interface_text,
    parse_local_time,
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def with_changes(self, **changes) -> Self:
        """A copy with `changes` (field name -> value, a model or plain data), validated again
        as a whole, so a change the schema refuses raises its ValidationError. Fields that
        were never set stay unset (dump() leaves them out, as the hand-written file did)."""
        data = self.model_dump(exclude_unset=True, round_trip=True)
        data.update(changes)
        return self.model_validate(data)


class Window(Strict):
    """Publication window (CONV-I.1), in the Institute's time zone."""

    opens: LocalTime
    closes: LocalTime
    timezone: TimeZoneName = "America/Monterrey"

    @model_validator(mode="after")
    def _closes_after_opening(self):
        if self.closes_at <= self.opens_at:
            raise ValueError(f"the window closes ({self.closes}) before it opens ({self.opens})")
        return self

    def _at(self, text: str) -> datetime:
        return parse_local_time(text).replace(tzinfo=ZoneInfo(self.timezone))

    @property
    def opens_at(self) -> datetime:
        return self._at(self.opens)

    @property
    def closes_at(self) -> datetime:
        return self._at(self.closes)


class Iec(Strict):
    """What the Institute gives every difusor; the same block in the IEC's own inventory."""

    official_url: HttpUrl
    sources: list[Cidr] = Field(min_length=1)
    sftp_keys: list[SshPublicKey] = Field(min_length=1)
    signers: list[SshPublicKey] = Field(min_length=1)
    period_s: int = Field(contract.DEFAULT_PERIOD_S, ge=5, le=3600)
    window: Window
    keep_cuts: int = Field(6, ge=2, le=100)
    jail_user: UnixName = "iec"
    max_cut_mb: int = Field(2048, ge=1)
    max_cut_files: int = Field(50_000, ge=1)


class AdminAccount(Strict):
    name: UnixName
    keys: list[SshPublicKey] = Field(min_length=1)


class Admins(Strict):
    """Named admin accounts and the only networks SSH answers to (CONV-IV.1)."""

    networks: list[Cidr] = Field(min_length=1)
    accounts: list[AdminAccount] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self):
        names = [a.name for a in self.accounts]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"admin account {dupes[0]!r} is listed twice")
        if "root" in names:
            raise ValueError("'root' cannot be an admin account: admins log in by name and use sudo")
        return self

    def allows(self, address: str) -> bool:
        ip = ipaddress.ip_address(address)
        return any(ip in ipaddress.ip_network(n) for n in self.networks)


class Contact(Strict):
    """Whom the Institute calls when a push fails (base V of the convocatoria)."""

    name: Line
    role: Line
    phone: Line
    hours: Line
    email: Email | None = None


class Tls(Strict):
    mode: Literal["acme", "files", "lab-ca"]
    email: Email | None = None  # acme account contact (lands in a root shell script)
    cert: LocalPath | None = None  # files: full chain, on the machine that runs the deploy
    key: LocalPath | None = None

    @model_validator(mode="after")
    def _mode_fields(self):
        if self.mode == "acme" and not self.email:
            raise ValueError("tls mode 'acme' needs an 'email' for the ACME account")
        if self.mode == "files" and not (self.cert and self.key):
            raise ValueError("tls mode 'files' needs 'cert' and 'key' paths")
        if self.mode != "files" and (self.cert or self.key):
            raise ValueError(f"'cert' and 'key' belong to tls mode 'files', not {self.mode!r}")
        return self


class Ups(Strict):
    """The UPS the server hangs on, monitored with NUT (CONV-II.e)."""

    driver: NutName = "usbhid-ups"
    port: UpsPort = "auto"
    name: NutName = "ups"
    description: NutText = "UPS del difusor"
    shutdown_on_low_battery: bool = True
    notify_webhook: HttpUrl | None = None
    notify_mail: Email | None = None

    @model_validator(mode="after")
    def _dummy_port(self):
        # dummy-ups reads its port as a file in NUT's folder: a plain file name there.
        if self.driver == "dummy-ups" and ("/" in self.port or self.port.startswith(".")):
            raise ValueError(f"dummy-ups reads port {self.port!r} as a file in NUT's folder: "
                             "give a plain file name, like ups.seq")
        return self


class RateLimits(Strict):
    """Per client address. Sized for carrier-grade NAT: many phones share one address."""

    requests_per_s: int = Field(50, ge=1)
    burst: int = Field(200, ge=0)
    connections: int = Field(100, ge=1, le=65535)  # nginx refuses more
    new_connections_per_s: int = Field(100, ge=1)  # firewall, per source


class Ha(Strict):
    """Two nodes sharing a floating address with keepalived (CONV-II.a.2)."""

    peer: HostName
    floating_address: str
    router_id: int = Field(51, ge=1, le=255)
    priority: int = Field(100, ge=1, le=254)

    @model_validator(mode="before")
    @classmethod
    def _interface(cls, data):
        if not isinstance(data, dict) or not isinstance(data.get("floating_address"), str):
            return data
        floating = data["floating_address"]
        try:
            normal = ip_interface_text(floating)
        except ValueError:
            raise ValueError(f"floating_address {floating!r} is not an address "
                             "with its prefix, like 203.0.113.20/24") from None
        if "/" not in floating:
            raise ValueError(f"floating_address {floating!r} needs its prefix, "
                             "like 203.0.113.20/24")
        return {**data, "floating_address": normal}


class HostBase(Strict):
    address: Address
    ssh_port: int = Field(22, ge=1, le=65535)
    ssh_user: UnixName | None = None  # default: the first admin account
    ssh_key: LocalPath | None = None
    host_key: SshPublicKey | None = None  # pinned; the publisher never trusts on first use


class Difusor(HostBase):
    server_names: list[DnsName] = Field(min_length=1)
    portal_origins: list[Origin] = []
    organization: Line | None = None
    public_url: HttpUrl | None = None
    contact: Contact | None = None
    link_mbps: int = Field(10, ge=1)
    tls: Tls | None = None
    ups: Ups | None = None
    rate_limits: RateLimits = RateLimits()
    ha: Ha | None = None


class Publisher(HostBase):
    sftp_identity: LocalPath  # private key for the difusores' jails, on the deploying machine
    signing_key: LocalPath  # private key that signs manifests, on the deploying machine
    drop_dir: AbsPath = contract.PUBLISHER_DROP_DIR
    state_dir: AbsPath = contract.PUBLISHER_STATE_DIR
    notify_webhook: HttpUrl | None = None
    notify_mail: Email | None = None


class Inventory(Strict):
    iec: Iec
    admins: Admins
    difusores: dict[HostName, Difusor] = {}
    publishers: dict[HostName, Publisher] = {}

    @model_validator(mode="after")
    def _consistent(self):
        if not self.difusores and not self.publishers:
            raise ValueError("the inventory has no hosts: add 'difusores' or 'publishers'")
        both = sorted(set(self.difusores) & set(self.publishers))
        if both:
            raise ValueError(f"duplicate host {both[0]!r}: it is both a difusor and a publisher")
        self._unique_endpoints()
        self._ssh_users_are_admins()
        self._ha_pairs()
        if self.publishers:
            unpinned = sorted(n for n, d in self.difusores.items() if not d.host_key)
            if unpinned:
                raise ValueError(f"difusor {unpinned[0]!r} has no host_key: a publisher pushes "
                                 "only to pinned host keys (no trust on first use)")
        return self

    def hosts(self) -> dict[str, HostBase]:
        return {**self.difusores, **self.publishers}

    def _unique_endpoints(self):
        seen: dict[tuple[str, int], str] = {}
        for name, host in self.hosts().items():
            key = (host.address, host.ssh_port)
            if key in seen:
                raise ValueError(f"duplicate host: {name!r} and {seen[key]!r} are both "
                                 f"{host.address} port {host.ssh_port}")
            seen[key] = name

    def _ssh_users_are_admins(self):
        names = {a.name for a in self.admins.accounts}
        for name, host in self.hosts().items():
            if host.ssh_user and host.ssh_user not in names:
                raise ValueError(f"host {name!r} connects as {host.ssh_user!r}, which is not in "
                                 f"admins.accounts ({', '.join(sorted(names))}): the hardening "
                                 "deploy would lock that user out")

    def _ha_pairs(self):
        for name, difusor in self.difusores.items():
            if not difusor.ha:
                continue
            peer = self.difusores.get(difusor.ha.peer)
            if peer is None or peer.ha is None or peer.ha.peer != name:
                raise ValueError(f"difusor {name!r} names HA peer {difusor.ha.peer!r}, which is "
                                 f"not a difusor naming {name!r} back as its peer")
            if peer.ha.floating_address != difusor.ha.floating_address:
                raise ValueError(f"HA pair {name!r}/{difusor.ha.peer!r} disagree on floating_address")
            if peer.ha.router_id != difusor.ha.router_id:
                raise ValueError(f"HA pair {name!r}/{difusor.ha.peer!r} disagree on router_id")

    def ssh_user(self, name: str) -> str:
        return self.hosts()[name].ssh_user or self.admins.accounts[0].name

    def dump(self) -> str:
        """The inventory as YAML, in the schema's field names: load_inventory reads it back
        into an equal Inventory. Only what was set is written; paths are the loaded ones
        (absolute), so the file may live anywhere. with_changes() is the way to change it."""
        data = self.model_dump(mode="json", by_alias=True, exclude_unset=True, round_trip=True)
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False,
                              width=200)
