"""The typed inventory: YAML written by hand, validated, loaded into pyinfra."""

from prep_iac.inventory.hostconfig import HostConfig
from prep_iac.inventory.loader import InventoryError, load_inventory
from prep_iac.inventory.schema import Difusor, Inventory, Publisher

__all__ = ["Difusor", "HostConfig", "Inventory", "InventoryError", "Publisher", "load_inventory"]
