"""The lab's inventory, written in the same YAML format as a hand-written one, so every
feature runs unchanged on the lab."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from prep_iac.contract import DEFAULT_PERIOD_S, PUBLISHER_DROP_DIR
from prep_iac.inventory.roles import DIFUSOR, PUBLISHER, ROLE_GROUPS
from prep_iac.inventory.schema import accelerated_calendar
from prep_iac.lab.keys import ADMIN_USER
from prep_iac.lab.spec import role_of
from prep_iac.paths import INVENTORIES_DIR

TIMEZONE = "America/Monterrey"
# The lab's PREP: open since an hour before `lab up`, closed 23 h later (the call allows 24),
# its results up for ten days after `lab up`.
OPENED_BEFORE = dt.timedelta(hours=1)
PREP_HOURS = dt.timedelta(hours=23)
PUBLISHED_FOR = dt.timedelta(days=10)
NO_PLANT_DOCUMENT = "sin-planta-de-emergencia.pdf"


@dataclass(frozen=True)
class LabHost:
    name: str
    address: str
    host_key: str  # "ssh-ed25519 AAAA..." (pinned: no trust on first use)


@dataclass(frozen=True)
class LabKeys:
    admin: Path  # private key files; the public key is beside each, as .pub
    iec_sftp: Path
    iec_signing: Path

    @staticmethod
    def pub(path: Path) -> str:
        return Path(str(path) + ".pub").read_text().strip()


def calendar(now: dt.datetime) -> dict:
    """An accelerated calendar in Coahuila's time zone, to the minute, around `lab up` (now)."""
    now = now.replace(second=0, microsecond=0)
    opens = now - OPENED_BEFORE
    return accelerated_calendar(opens, opens + PREP_HOURS, now + PUBLISHED_FOR, TIMEZONE)


def process_id(lab_name: str) -> str:
    """The lab's electoral process: `lab-<name>`, in the characters a process id takes."""
    return re.sub(r"[^a-z0-9-]+", "-", f"lab-{lab_name}".lower())[:64]


def _connection(host: LabHost, keys: LabKeys) -> dict:
    return {"address": host.address, "ssh_port": 22, "ssh_user": ADMIN_USER,
            "ssh_key": str(keys.admin), "host_key": host.host_key}


def _difusor(host: LabHost, keys: LabKeys, lab_name: str) -> dict:
    return {
        **_connection(host, keys),
        "server_names": [f"{host.name}.lab"],
        "portal_origins": ["http://portal.lab"],
        "organization": f"Laboratorio {lab_name} ({host.name})",
        "public_url": f"http://{host.address}/",
        "contact": {"name": "Operador del laboratorio", "role": "Pruebas",
                    "phone": "+52 844 000 0000", "hours": "24 h"},
        "link_mbps": 100,
        "tls": {"mode": "lab-ca"},
        "ups": {"driver": "dummy-ups", "port": "auto"},
        # A container has no emergency plant: the document named here does not exist, so
        # declared::planta_emergencia fails honestly and the lab's signed waiver covers it.
        "emergency_power": {"plant": "Ninguna: host de laboratorio (contenedor)",
                            "evidence": NO_PLANT_DOCUMENT, "tested_on": "2021-05-10"},
    }


def _publisher(host: LabHost, keys: LabKeys) -> dict:
    return {
        **_connection(host, keys),
        "sftp_identity": str(keys.iec_sftp),
        "signing_key": str(keys.iec_signing),
        "drop_dir": PUBLISHER_DROP_DIR,
    }


def _website(host: LabHost, keys: LabKeys) -> dict:
    """The Institute's web host: the list is served at its address's root."""
    return {**_connection(host, keys), "public_url": f"http://{host.address}/",
            "server_names": [host.address, f"{host.name}.lab"]}


def build(lab_name: str, subnet: str, hosts: list[LabHost], keys: LabKeys,
          now: dt.datetime | None = None) -> dict:
    now = now or dt.datetime.now(dt.UTC)
    by_role: dict[str, dict] = {role: {} for role in ROLE_GROUPS}
    for h in hosts:
        role = role_of(h.name)
        by_role[role][h.name] = (_difusor(h, keys, lab_name) if role == DIFUSOR
                                 else _publisher(h, keys) if role == PUBLISHER
                                 else _website(h, keys))
    data = {
        "iec": {
            "process": process_id(lab_name),
            "official_url": "http://portal.lab/",
            "sources": [subnet],
            "sftp_keys": [LabKeys.pub(keys.iec_sftp)],
            "signers": [LabKeys.pub(keys.iec_signing)],
            # The lab's IEC key signs the lab's waivers too (another namespace).
            "waiver_signers": [LabKeys.pub(keys.iec_signing)],
            "period_s": DEFAULT_PERIOD_S,
            "calendar": calendar(now),
        },
        "admins": {
            "networks": [subnet],
            "accounts": [{"name": ADMIN_USER, "keys": [LabKeys.pub(keys.admin)]}],
        },
    }
    for role, group in ROLE_GROUPS.items():
        if by_role[role] or role == DIFUSOR:  # difusores: always there, even if empty
            data[group] = by_role[role]
    if by_role[DIFUSOR] and not by_role[PUBLISHER]:
        # Without publishers the lab stands for one difusor's own inventory, which the call
        # asks to carry its participation (contacts of every stage, the logo: CONV-V, I.7).
        data["participation"] = participation(lab_name)
        for difusor in by_role[DIFUSOR].values():
            difusor["organization"] = data["participation"]["organization"]
    return data


def participation(lab_name: str) -> dict:
    staff = [{"name": "Operador del laboratorio", "role": "Pruebas",
              "phone": "+52 844 000 0000", "hours": "24 h"}]
    return {"organization": f"Laboratorio {lab_name}",
            "legal_representative": {"name": "Responsable del laboratorio", "role": "Pruebas"},
            "logo": str(INVENTORIES_DIR / "logo-ejemplo.png"),
            "contacts": {"installation": staff, "drills": staff, "operation": staff}}


HEADER = """\
# prep-iac lab inventory, written by `prep-iac lab up` for lab {name!r} ({subnet}).
# Generated: edits are lost on the next `lab up`. Same format as the hand-written inventories.
"""


def render(lab_name: str, subnet: str, data: dict) -> str:
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False,
                          width=200)
    return HEADER.format(name=lab_name, subnet=subnet) + body


def write(path: Path, lab_name: str, subnet: str, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render(lab_name, subnet, data))
    tmp.replace(path)
    return path


def validate(path: Path) -> None:
    """Load the written file with the project's inventory schema: a lab inventory that the
    deploys would refuse is a bug here, caught at `lab up` rather than at the first deploy."""
    from prep_iac.inventory import load_inventory

    load_inventory(path)
