"""What a deploy sees of the inventory on one host: ``host.data.prep``."""

from dataclasses import dataclass
from pathlib import Path

from prep_iac.inventory.schema import Admins, Difusor, Iec, Inventory, Publisher


@dataclass(frozen=True)
class HostConfig:
    inventory: Inventory
    inventory_path: Path
    name: str
    role: str  # "difusor" | "publisher" | "website"

    @property
    def host(self) -> Difusor | Publisher:
        return self.inventory.hosts()[self.name]

    @property
    def iec(self) -> Iec:
        return self.inventory.iec

    @property
    def admins(self) -> Admins:
        return self.inventory.admins

    @property
    def ssh_user(self) -> str:
        return self.inventory.ssh_user(self.name)

    @property
    def ha_peer(self) -> Difusor | None:
        ha = getattr(self.host, "ha", None)
        return self.inventory.difusores[ha.peer] if ha else None

    def to_json(self) -> dict:
        """What `pyinfra INVENTORY debug-inventory` prints for this host."""
        return {"role": self.role, "inventory": str(self.inventory_path),
                "host": self.host.model_dump(mode="json", exclude_none=True)}
