"""The expediente's infrastructure sheet filled from a real lab host (systemd-nspawn), and a
host that does not answer marked "no leído" with its reason. Nothing is deployed: facts are
read over SSH as the inventory's admin, so this is quick.

    PREP_LAB_NAME=hexp PREP_LAB_SUBNET=10.73.0.0/24 PREP_LAB_DIFUSORES=1 \
        PREP_LAB_PUBLISHERS=0 .venv/bin/pytest -m lab tests/lab/test_expediente_hosts.py
"""

from __future__ import annotations

import ipaddress
import subprocess
from pathlib import Path

import pytest

from prep_iac.expediente import build, facts, sheet
from prep_iac.inventory import load_inventory
from prep_iac.simulacro.setup import write_inventory

pytestmark = pytest.mark.lab
REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "inventories" / "example-difusor.yml"
GHOST = "difusor-ausente"


def _inventory(lab, out: Path) -> Path:
    """The lab inventory with the example's participation and a difusor nobody answers for:
    an address of the lab's subnet that no host has (its pin borrowed: it is never reached)."""
    inv = load_inventory(lab.inventory_path)
    first = next(iter(inv.difusores.values()))
    subnet = ipaddress.ip_interface(f"{first.address}/24").network
    used = {h.address for h in inv.hosts().values()}
    ghost_address = next(str(a) for a in reversed(list(subnet.hosts()))
                         if str(a) not in used and not str(a).endswith(".1"))
    ghost = first.with_changes(address=ghost_address, organization=None, ha=None)
    participation = load_inventory(EXAMPLE).participation
    difusores = {name: d.with_changes(organization=None) for name, d in inv.difusores.items()}
    changed = inv.with_changes(difusores={**difusores, GHOST: ghost},
                               participation=participation)
    path = out / "inventario.yml"
    write_inventory(path, changed, "# tests/lab/test_expediente_hosts.py")
    return path


def test_the_sheet_is_read_on_a_lab_host_and_an_absent_one_is_not_read(lab, tmp_path):
    path = _inventory(lab, tmp_path)
    inv = load_inventory(path)
    name = next(n for n in inv.difusores if n != GHOST)
    found = facts.read_hosts(inv, path, list(inv.difusores))  # the sheet has every difusor

    host = found[name]
    assert host.read, host.error
    assert host.container == "systemd-nspawn"
    nproc = lab.run(name, "nproc", check=True).stdout.strip()
    assert host.cores == int(nproc)
    os_release = lab.run(name, ". /etc/os-release && echo $PRETTY_NAME").stdout.strip()
    assert host.os == os_release and host.kernel.startswith("Linux ")
    assert host.interfaces and all(i["name"] != "lo" for i in host.interfaces)

    absent = found[GHOST]
    assert not absent.read and inv.difusores[GHOST].address in absent.error

    summary = build.build(inv, tmp_path / "expediente", found, evidence_dir=tmp_path)
    rows = {r["concepto"]: r for r in summary["ficha"][name]}
    assert rows["Sistema operativo"]["estado"] == sheet.CUMPLE
    assert os_release in rows["Sistema operativo"]["valor"]
    assert f"{nproc} núcleo(s)" in rows["Procesador"]["valor"]
    for item in ("Disco", "Disco redundante", "Tarjeta de red redundante",
                 "Fuente de poder redundante"):
        assert rows[item]["estado"] == sheet.NO_VISIBLE, item
        assert "contenedor (systemd-nspawn)" in rows[item]["nota"], item
    ghost_rows = [r for r in summary["ficha"][GHOST] if r["fuente"] == "leído"]
    assert ghost_rows and {r["estado"] for r in ghost_rows} == {sheet.NO_LEIDO}
    assert {r["valor"] for r in ghost_rows} == {"—"}
    assert summary["no_leidos"] == {GHOST: absent.error}
    text = subprocess.run(["pdftotext", str(tmp_path / "expediente" / "ficha.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    text = " ".join(text.split())
    assert os_release in text and "no visible" in text and f"No leído: {absent.error}" in text
