"""The lab's waivers, signed as the Institute signs a real difusor's: inventories/lab-waivers.yml
copied for the lab's process beside its inventory, and signed with the lab's own test IEC key
(listed in the lab inventory's iec.waiver_signers). Without the signature no waiver counts."""

from __future__ import annotations

from pathlib import Path

import yaml

from prep_iac.conformance.waivers import sign_file, signature_path

__all__ = ["path_beside", "signature_path", "write_signed"]

SOURCE = Path(__file__).resolve().parents[2] / "inventories" / "lab-waivers.yml"


def path_beside(inventory: Path) -> Path:
    return inventory.with_name(f"{inventory.stem}-dispensas.yml")


def write_signed(inventory: Path, process: str, signing_key: Path,
                 source: Path = SOURCE) -> Path:
    """Write and sign the lab's waivers for ``process``; returns the waiver file's path."""
    doc = yaml.safe_load(source.read_text(encoding="utf-8"))
    doc = {"process": process, "waivers": doc["waivers"]}
    path = path_beside(inventory)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("# The lab's waivers (from inventories/lab-waivers.yml), signed with the "
                   "lab's IEC key.\n" + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True,
                                                       width=100), encoding="utf-8")
    tmp.replace(path)
    sign_file(path, signing_key)
    return path
