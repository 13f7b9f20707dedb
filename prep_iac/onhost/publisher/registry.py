"""The publisher's registry: the difusores it pushes to and how. Plain JSON on the host.

The publisher host runs from this file (written by the deploy from the typed inventory), so
its runtime needs no pydantic; on the controller the same object is built from the inventory.
"""

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from prep_iac.contract import DRILL, PRODUCTION
from prep_iac.onhost.publisher.signing import IDENTITY, NAMESPACE


@dataclass(frozen=True)
class DifusorEntry:
    name: str
    address: str
    ssh_port: int
    host_key: str
    organization: str | None = None
    public_url: str | None = None
    contact: dict | None = None
    logo: str | None = None  # an http(s) URL, or a PNG/JPEG file on this host


@dataclass(frozen=True)
class WebsiteEntry:
    """The Institute's web host the list goes to: its pinned SSH endpoint (connect.py takes
    it as it takes a difusor) and where the public reads the list."""
    name: str
    address: str
    ssh_port: int
    host_key: str
    public_url: str


@dataclass(frozen=True)
class Registry:
    difusores: tuple[DifusorEntry, ...]
    jail_user: str
    period_s: int
    timezone: str
    sftp_identity: str
    signing_key: str
    signers: tuple[str, ...]
    drop_dir: str
    state_dir: str
    notify_webhook: str | None = None
    notify_mail: str | None = None
    namespace: str = NAMESPACE
    identity: str = IDENTITY
    # The signed stamp (contract.py): the electoral process, and the calendar's PREP times
    # (ISO-8601): before the opening everything is signed as drill material; from the
    # close the service signs the newest cut as final.
    process: str = ""
    prep_opens: str | None = None
    prep_closes: str | None = None
    # The public list (listpage.py): from when it is public (ISO-8601, the start of the
    # calendar's public_list_from day) and the web hosts it is pushed to.
    list_from: str | None = None
    websites: tuple[WebsiteEntry, ...] = ()

    def mode_at(self, now: datetime | None = None) -> str:
        """Drill material before the PREP opens, production from then on."""
        if self.prep_opens and (now or datetime.now(UTC)) < datetime.fromisoformat(
                self.prep_opens):
            return DRILL
        return PRODUCTION
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        data = asdict(self)
        data["difusores"] = [asdict(d) for d in self.difusores]
        data["websites"] = [asdict(w) for w in self.websites]
        return data

    def dumps(self) -> str:
        return json.dumps(self.to_json(), ensure_ascii=False, indent=1, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, data: dict) -> "Registry":
        data = dict(data)
        data["difusores"] = tuple(DifusorEntry(**d) for d in data["difusores"])
        data["signers"] = tuple(data["signers"])
        data["websites"] = tuple(WebsiteEntry(**w) for w in data.get("websites", ()))
        return cls(**data)

    @classmethod
    def load(cls, path) -> "Registry":
        return cls.from_json(json.loads(Path(path).read_text()))

    def only(self, names) -> "Registry":
        if not names:
            return self
        unknown = set(names) - {d.name for d in self.difusores}
        if unknown:
            raise KeyError(", ".join(sorted(unknown)))
        return Registry(**{**self.__dict__,
                           "difusores": tuple(d for d in self.difusores if d.name in names)})
