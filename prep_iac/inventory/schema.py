"""The inventory schema: what a sysadmin writes by hand, validated before anything is deployed.

Unknown keys are errors (extra="forbid"): a misspelt key never passes silently.
"""

import datetime as dt
import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain
from typing import Literal, Self
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from prep_iac import contract
from prep_iac.inventory.types import (
    AbsPath,
    Address,
    Cidr,
    DnsName,
    Email,
    HostName,
    HttpsUrl,
    HttpUrl,
    Line,
    LocalDate,
    LocalPath,
    LocalTime,
    Logo,
    NutName,
    NutText,
    Origin,
    ProcessId,
    SshPublicKey,
    TimeZoneName,
    UnixName,
    UpsPort,
    ip_interface_text,
    local_time_text,
    parse_local_time,
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def with_changes(self, **changes) -> Self:
        """A copy with `changes` (field name -> value, a model or plain data), validated again
        as a whole, so a change the schema refuses raises its ValidationError. Fields that
        were never set stay unset (dump() leaves them out, as the hand-written file did)."""
        data = self.model_dump(by_alias=True, exclude_unset=True, round_trip=True)
        data.update(changes)
        return self.model_validate(data)


# The call's rules for the PREP (base I.1): publication starts after the polls close, at
# 18:00 of election day or later, and the results stay up at least until 23:59 of the ninth
# day after (6 June 18:00 -> 15 June 23:59 in 2021). The Consejo General closes the PREP, with
# its last cut, at most 24 hours after it opens. Conformance checks the same numbers.
EARLIEST_OPENING = dt.time(18, 0)
MIN_DAYS_OPEN = 9
LAST_MINUTE = dt.time(23, 59)
MAX_PREP_OPEN = dt.timedelta(hours=24)


def publication_minimum(prep_opens_at: dt.datetime) -> dt.datetime:
    """The earliest end of publication the call accepts for a PREP opening at `prep_opens_at`."""
    return dt.datetime.combine(prep_opens_at.date() + dt.timedelta(days=MIN_DAYS_OPEN),
                               LAST_MINUTE, prep_opens_at.tzinfo)


class Span(Strict):
    """Whole days, `from` to `to`, both included."""

    from_: LocalDate = Field(alias="from")
    to: LocalDate

    @model_validator(mode="after")
    def _in_order(self):
        if self.to < self.from_:
            raise ValueError(f"'to' ({self.to}) is before 'from' ({self.from_})")
        return self


class Drills(Span):
    """The drills stage and the days a drill is held."""

    days: list[LocalDate]

    @model_validator(mode="after")
    def _days_inside(self):
        if not self.days:
            raise ValueError("'days' lists no drill: give at least one day from 'from' to 'to'")
        outside = [day for day in self.days if not self.from_ <= day <= self.to]
        if outside:
            raise ValueError(f"drill day {outside[0]} is outside the drills' stage "
                             f"({self.from_} to {self.to})")
        return self


# Where `inventory check` says we are: each stage starts where the previous ends.
STAGES = ("aviso", "instalacion", "simulacros", "lista", "operacion", "cierre", "concluida")


class Calendar(Strict):
    """The call's stages, in the Institute's time zone. `accelerated` (labs and drills
    only) lifts the call's two rules on the PREP's hours, never the order of the stages."""

    timezone: TimeZoneName = "America/Monterrey"
    notice_by: LocalDate  # I.4: last day to give notice to the IEC
    infrastructure_by: LocalDate  # I.5: the infrastructure operating
    installation: Span
    drills: Drills
    public_list_from: LocalDate  # I.7: the IEC publishes the list of difusores
    prep_opens: LocalTime  # publication starts (I.1)
    prep_closes: LocalTime  # the Consejo General closes the PREP: last cut, signed final
    publication_ends: LocalTime  # I.1: the results stay up at least until then
    memoria_by: LocalDate  # VI: the memoria técnica is due
    accelerated: bool = False

    @model_validator(mode="after")
    def _valid(self):
        problems = chain(self._out_of_order(),
                         () if self.accelerated else self._against_the_call())
        first = next(problems, None)
        if first:
            raise ValueError(first)
        return self

    def _out_of_order(self) -> Iterator[str]:
        opens, closes = self.prep_opens_at, self.prep_closes_at
        if self.notice_by > self.infrastructure_by:
            yield (f"notice_by ({self.notice_by}) is after infrastructure_by "
                   f"({self.infrastructure_by}): the notice to the IEC comes first")
        if self.infrastructure_by > self.drills.from_:
            yield (f"infrastructure_by ({self.infrastructure_by}) is after drills.from "
                   f"({self.drills.from_}): the infrastructure operates before the first drill")
        if self.drills.to >= opens.date():
            yield (f"drills.to ({self.drills.to}) is not before the day of prep_opens "
                   f"({self.prep_opens}): the drills end before the PREP opens")
        if self.public_list_from > opens.date():
            yield (f"public_list_from ({self.public_list_from}) is after the day of prep_opens "
                   f"({self.prep_opens}): the list of difusores is public before the PREP opens")
        if closes <= opens:
            yield f"prep_closes ({self.prep_closes}) is not after prep_opens ({self.prep_opens})"
        if closes.timestamp() - opens.timestamp() > MAX_PREP_OPEN.total_seconds():
            yield (f"prep_closes ({self.prep_closes}) is more than 24 h after prep_opens "
                   f"({self.prep_opens}): the Consejo General closes the PREP within 24 hours")
        if self.publication_ends_at < closes:
            yield (f"publication_ends ({self.publication_ends}) is before prep_closes "
                   f"({self.prep_closes}): the final results stay up after the last cut")
        if self.memoria_by < closes.date():
            yield (f"memoria_by ({self.memoria_by}) is before the day of prep_closes "
                   f"({self.prep_closes}): the memoria técnica reports the whole night")

    def _against_the_call(self) -> Iterator[str]:
        if self.prep_opens_at.time() < EARLIEST_OPENING:
            yield (f"prep_opens ({self.prep_opens}) is before 18:00: the call (I.1) opens the "
                   "PREP after the polls close (accelerated: true lifts this, for labs and "
                   "drills only)")
        minimum = publication_minimum(self.prep_opens_at)
        if self.publication_ends_at < minimum:
            yield (f"publication_ends ({self.publication_ends}) is before "
                   f"{minimum:%Y-%m-%d %H:%M}: the call (I.1) keeps the results up until 23:59 "
                   "of the ninth day after prep_opens (accelerated: true lifts this, for labs "
                   "and drills only)")

    def _at(self, text: str) -> dt.datetime:
        return parse_local_time(text).replace(tzinfo=ZoneInfo(self.timezone))

    def _day_starts(self, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(), ZoneInfo(self.timezone))

    @property
    def prep_opens_at(self) -> dt.datetime:
        return self._at(self.prep_opens)

    @property
    def prep_closes_at(self) -> dt.datetime:
        return self._at(self.prep_closes)

    @property
    def public_list_starts_at(self) -> dt.datetime:
        """When the list of difusores becomes public: the start of public_list_from."""
        return self._day_starts(self.public_list_from)

    @property
    def publication_ends_at(self) -> dt.datetime:
        return self._at(self.publication_ends)

    def _stage_starts(self) -> list[tuple[str, dt.datetime]]:
        """Each of STAGES after the first with when it starts, in the call's order."""
        return list(zip(STAGES[1:], (
            self._day_starts(self.installation.from_), self._day_starts(self.drills.from_),
            self._day_starts(self.public_list_from), self.prep_opens_at, self.prep_closes_at,
            self.publication_ends_at), strict=True))

    def stage(self, now: dt.datetime) -> str:
        """The stage `now` (aware) is in: the last one of the call's order that started."""
        started = [name for name, starts in self._stage_starts() if starts <= now]
        return started[-1] if started else STAGES[0]


def accelerated_calendar(prep_opens: dt.datetime, prep_closes: dt.datetime,
                         publication_ends: dt.datetime, timezone: str) -> dict:
    """The data of an accelerated calendar (labs, drills) around the PREP's own times (aware),
    as an inventory holds it: the earlier stages fill the days before the opening, in the
    call's order."""
    tz = ZoneInfo(timezone)
    opens, closes, ends = (t.astimezone(tz) for t in (prep_opens, prep_closes, publication_ends))

    def before(days: int) -> str:
        return str(opens.date() - dt.timedelta(days=days))

    return {"timezone": timezone, "notice_by": before(5), "infrastructure_by": before(4),
            "installation": {"from": before(5), "to": before(4)},
            "drills": {"from": before(3), "to": before(2), "days": [before(3), before(2)]},
            "public_list_from": before(1), "prep_opens": local_time_text(opens),
            "prep_closes": local_time_text(closes), "publication_ends": local_time_text(ends),
            "memoria_by": str(ends.date()), "accelerated": True}


@dataclass(frozen=True)
class Window:
    """The publication window the web tier serves (CONV-I.1): from the PREP's opening to the
    end of publication. What consumers of the former `iec.window` read."""

    opens: str
    closes: str
    timezone: str
    opens_at: dt.datetime
    closes_at: dt.datetime


class Iec(Strict):
    """What the Institute gives every difusor; the same block in the IEC's own inventory."""

    process: ProcessId  # the electoral process, signed in every cut
    official_url: HttpUrl
    sources: list[Cidr] = Field(min_length=1)
    sftp_keys: list[SshPublicKey] = Field(min_length=1)
    signers: list[SshPublicKey] = Field(min_length=1)
    # The Institute's own keys for the read-only account that runs `prep-iac verify`
    # (contract.READER_USER); none: no such account.
    auditor_keys: list[SshPublicKey] = []
    period_s: int = Field(contract.DEFAULT_PERIOD_S, ge=5, le=3600)
    calendar: Calendar
    keep_cuts: int = Field(6, ge=2, le=100)
    jail_user: UnixName = "iec"
    max_cut_mb: int = Field(2048, ge=1)
    max_cut_files: int = Field(50_000, ge=1)
    # Keys with which the Institute signs the waivers it grants (I.11, II after e): a waiver
    # counts only when one of these signed it (namespace contract.WAIVER_NAMESPACE).
    waiver_signers: list[SshPublicKey] = []

    @property
    def window(self) -> Window:
        cal = self.calendar
        return Window(opens=cal.prep_opens, closes=cal.publication_ends, timezone=cal.timezone,
                      opens_at=cal.prep_opens_at, closes_at=cal.publication_ends_at)


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


class Representative(Strict):
    """Who signs the letter of commitment for the organization (CONV-I.8)."""

    name: Line
    role: Line


class StageContacts(Strict):
    """The technical staff the Institute coordinates with in each stage of the call (V)."""

    installation: list[Contact]  # installation and tests
    drills: list[Contact]  # exercises and drills
    operation: list[Contact]  # operation and publication of the results

    @field_validator("installation", "drills", "operation")
    @classmethod
    def _staffed(cls, contacts: list[Contact], info: ValidationInfo) -> list[Contact]:
        if not contacts:
            raise ValueError(f"no contact for the {info.field_name} stage: the call (V) asks "
                             "for the name, role, phone and hours of the technical staff of "
                             "each stage")
        return contacts


class Participation(Strict):
    """What the difusor's file for the Institute needs beyond its servers (`prep-iac
    expediente`): who participates, who signs, whom to call in each stage, and the logo the
    Institute's public list links (CONV-I.4, I.7, I.8, V)."""

    organization: Line
    legal_representative: Representative
    logo: LocalPath  # PNG or JPEG, checked by inventory/logo.py once the schema passed
    contacts: StageContacts


class Tls(Strict):
    mode: Literal["acme", "files", "lab-ca"]
    email: Email | None = None  # acme account contact (certbot's --email)
    # acme: the ACME directory (default: certbot's, Let's Encrypt) and, for a server whose
    # HTTPS certificate no public CA signed (a test CA), that CA's file on this machine.
    acme_server: HttpsUrl | None = None
    acme_ca: LocalPath | None = None
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
        if self.mode != "acme" and (self.acme_server or self.acme_ca):
            raise ValueError("'acme_server' and 'acme_ca' belong to tls mode 'acme', "
                             f"not {self.mode!r}")
        if self.acme_ca and not self.acme_server:
            raise ValueError("'acme_ca' is the CA of 'acme_server': give the server too "
                             "(Let's Encrypt needs no CA file)")
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


class EmergencyPower(Strict):
    """The emergency power plant behind the UPS (CONV-II.e): no machine sees it, so the
    inventory names the document that shows it (data sheet, last load test's log)."""

    plant: Line  # what it is: "Planta diésel 60 kVA, Cummins C60D6, serie 123"
    evidence: LocalPath  # the document, on the machine that runs prep-iac
    tested_on: LocalDate  # the last test under load


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
    # The image the Institute's list shows as the link (CONV-I.7): an http(s) URL, or a file
    # beside the inventory (PNG, JPEG or SVG, checked by inventory/logos.py).
    logo: Logo | None = None
    contact: Contact | None = None
    # Required, no default (CONV-II.b.1): an undeclared link must never pass as 10 Mbps.
    link_mbps: int = Field(ge=1)
    tls: Tls | None = None
    ups: Ups  # required (CONV-II.e): a difusor without a UPS does not meet the call
    emergency_power: EmergencyPower  # required (CONV-II.e): the plant, shown by a document
    # The public key that signs this difusor's conformance reports (`verify`, `audit`);
    # the private key stays off the repo, given on the command line.
    report_key: SshPublicKey | None = None
    rate_limits: RateLimits = RateLimits()
    ha: Ha | None = None


class Publisher(HostBase):
    sftp_identity: LocalPath  # private key for the difusores' jails, on the deploying machine
    signing_key: LocalPath  # private key that signs manifests, on the deploying machine
    drop_dir: AbsPath = contract.PUBLISHER_DROP_DIR
    state_dir: AbsPath = contract.PUBLISHER_STATE_DIR
    notify_webhook: HttpUrl | None = None
    notify_mail: Email | None = None


LIST_PATH = re.compile(r"(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*/?")


class Website(HostBase):
    """The Institute's web host that serves the public list of difusores (CONV-I.7): the
    publisher pushes the list there by SFTP, to a chrooted account (components/website.py)."""

    public_url: HttpUrl  # where the public reads the list: difusores.html and .json are here
    server_names: list[DnsName] = Field(min_length=1)  # nginx's server_name for the list

    @model_validator(mode="after")
    def _plain_path(self):
        # The URL's path becomes an nginx location: plain folder names only.
        parts = urlsplit(self.public_url)
        if parts.query or parts.fragment or not LIST_PATH.fullmatch(parts.path or "/"):
            raise ValueError(f"public_url {self.public_url!r}: the list's address is a folder, "
                             "like https://www.iec.org.mx/prep/difusores/ (letters, digits, "
                             "'.', '_' and '-' between slashes; no ?query or #fragment)")
        return self


LOG_PREFIX = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class PortalLogs(Strict):
    """The organization's usual portal, whose access logs are the memoria's baseline (VI):
    a folder on this machine, or a host read over SSH (pinned key, an account that can read
    the logs). `days`: how many days before the PREP window make the baseline."""

    folder: LocalPath | None = None
    address: Address | None = None
    ssh_port: int = Field(22, ge=1, le=65535)
    ssh_user: UnixName | None = None
    ssh_key: LocalPath | None = None
    host_key: SshPublicKey | None = None
    path: AbsPath = "/var/log/nginx"  # the folder of the logs on that host
    prefix: str = "access.log"  # the log files' names start with it (rotations included)
    days: int = Field(14, ge=1, le=366)

    @model_validator(mode="after")
    def _one_source(self):
        if bool(self.folder) == bool(self.address):
            raise ValueError("portal_logs takes either 'folder' (a folder on this machine) or "
                             "'address' (a host read over SSH), not both nor neither")
        if self.address and not (self.host_key and self.ssh_user):
            raise ValueError("portal_logs on a host needs 'ssh_user' and 'host_key' (pinned: "
                             "no trust on first use)")
        if not LOG_PREFIX.fullmatch(self.prefix):
            raise ValueError(f"portal_logs prefix {self.prefix!r}: a file name start, like "
                             "access.log (letters, digits, '.', '_' and '-')")
        return self


class Inventory(Strict):
    iec: Iec
    admins: Admins
    difusores: dict[HostName, Difusor] = {}
    publishers: dict[HostName, Publisher] = {}
    participation: Participation | None = None  # the difusor's file (prep-iac expediente)
    websites: dict[HostName, Website] = {}
    portal_logs: PortalLogs | None = None  # the memoria's baseline (VI)

    @model_validator(mode="after")
    def _consistent(self):
        if not self.difusores and not self.publishers:
            raise ValueError("the inventory has no hosts: add 'difusores' or 'publishers'")
        if self.websites and not self.publishers:
            raise ValueError("'websites' serve the list a publisher pushes: add 'publishers'")
        both = sorted(set(self.difusores) & set(self.publishers))
        if both:
            raise ValueError(f"duplicate host {both[0]!r}: it is both a difusor and a publisher")
        twice = sorted((set(self.difusores) | set(self.publishers)) & set(self.websites))
        if twice:
            raise ValueError(f"duplicate host {twice[0]!r}: a website is neither a difusor nor "
                             "a publisher")
        self._unique_endpoints()
        self._ssh_users_are_admins()
        self._ha_pairs()
        self._participation()
        if self.publishers:
            unpinned = sorted(n for n, d in self.difusores.items() if not d.host_key)
            if unpinned:
                raise ValueError(f"difusor {unpinned[0]!r} has no host_key: a publisher pushes "
                                 "only to pinned host keys (no trust on first use)")
            unpinned = sorted(n for n, w in self.websites.items() if not w.host_key)
            if unpinned:
                raise ValueError(f"website {unpinned[0]!r} has no host_key: the publisher pushes "
                                 "the list only to a pinned host key (no trust on first use)")
        return self

    def hosts(self) -> dict[str, HostBase]:
        return {**self.difusores, **self.publishers, **self.websites}

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

    def _participation(self):
        if self.participation is None:
            if self.difusores and not self.publishers:  # a difusor's own inventory
                raise ValueError(
                    "'participation' is missing: the call (V) asks each difusor for the name, "
                    "role, phone and hours of its technical staff in every stage, and its file "
                    "for the Institute needs the organization, its legal representative and "
                    "its logo (I.4, I.7, I.8); add the block as in "
                    "inventories/example-difusor.yml")
            return
        if not self.difusores:
            raise ValueError("'participation' describes a difusor's file: it belongs to an "
                             "inventory with difusores")
        org = self.participation.organization
        for name, difusor in self.difusores.items():
            if difusor.organization and difusor.organization != org:
                raise ValueError(f"difusor {name!r} names organization "
                                 f"{difusor.organization!r}, participation names {org!r}: "
                                 "write the same name in both (or leave the host's out)")

    def ssh_user(self, name: str) -> str:
        return self.hosts()[name].ssh_user or self.admins.accounts[0].name

    def dump(self) -> str:
        """The inventory as YAML, in the schema's field names: load_inventory reads it back
        into an equal Inventory. Only what was set is written; paths are the loaded ones
        (absolute), so the file may live anywhere. with_changes() is the way to change it."""
        data = self.model_dump(mode="json", by_alias=True, exclude_unset=True, round_trip=True)
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False,
                              width=200)
