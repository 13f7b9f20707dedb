"""The drill changes an inventory through the typed model: with_changes() validates again,
dump() writes YAML the loader reads back into an equal inventory; never by editing text."""

import datetime as dt

import pytest
import yaml
from pydantic import ValidationError

from prep_iac import paths
from prep_iac.errors import PrepError
from prep_iac.inventory import load_inventory
from prep_iac.simulacro import setup

EXAMPLES = [paths.INVENTORIES_DIR / "example-difusor.yml", paths.INVENTORIES_DIR / "example-iec.yml"]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_dump_loads_back_into_an_equal_inventory(tmp_path, example):
    inventory = load_inventory(example)
    copy = tmp_path / "copy.yml"
    copy.write_text(inventory.dump())
    assert load_inventory(copy) == inventory
    copy.write_text(load_inventory(copy).dump())
    assert load_inventory(copy) == inventory


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_dump_writes_the_keys_the_file_had_and_no_defaults(example):
    written = yaml.safe_load(example.read_text())
    dumped = yaml.safe_load(load_inventory(example).dump())

    def keys(data, prefix=()):
        if not isinstance(data, dict):
            return set()
        return {prefix + (k,) for k in data} | {
            key for k, v in data.items() for key in keys(v, prefix + (k,))}

    assert keys(dumped) == keys(written)


def test_with_changes_validates_the_change(tmp_path):
    inventory = load_inventory(EXAMPLES[1])
    changed = inventory.with_changes(iec=inventory.iec.with_changes(period_s=6))
    assert changed.iec.period_s == 6 and inventory.iec.period_s == 600
    assert changed.iec.calendar == inventory.iec.calendar
    assert changed.difusores == inventory.difusores
    path = tmp_path / "changed.yml"
    path.write_text(changed.dump())
    assert load_inventory(path) == changed
    with pytest.raises(ValidationError, match="period_s"):
        inventory.iec.with_changes(period_s=1)
    with pytest.raises(ValidationError, match="prep_closes"):
        inventory.iec.calendar.with_changes(prep_closes="2021-06-06 17:00")
    with pytest.raises(ValidationError, match="colour"):
        inventory.iec.with_changes(colour="red")


def test_with_changes_checks_the_whole_inventory_again():
    """A change valid for its block but not for the inventory (an HA peer that is not there)."""
    inventory = load_inventory(EXAMPLES[0])
    name = next(iter(inventory.difusores))
    lonely = inventory.difusores[name].with_changes(
        ha={"peer": "nadie", "floating_address": "203.0.113.20/24"})
    with pytest.raises(ValidationError, match="HA peer 'nadie'"):
        inventory.with_changes(difusores={**inventory.difusores, name: lonely})


def _two_difusores(tmp_path):
    """example-iec.yml with a second difusor, written by the typed model."""
    inventory = load_inventory(EXAMPLES[1])
    (first,) = inventory.difusores.values()
    second = first.with_changes(address="203.0.113.11", server_names=["prep2.example.mx"])
    path = tmp_path / "two.yml"
    path.write_text(inventory.with_changes(difusores={"difusor-1": first,
                                                      "difusor-2": second}).dump())
    return path


def test_the_drill_inventory_with_an_ha_pair(tmp_path):
    lab = _two_difusores(tmp_path)
    path = setup.drill_inventory(lab, tmp_path / "out", period_s=6, ha=True)
    drill = load_inventory(path)
    before = load_inventory(lab)
    assert drill.iec.period_s == 6
    assert drill.iec.calendar.prep_opens_at > dt.datetime.now(dt.UTC) + dt.timedelta(hours=12)
    one, two = drill.difusores["difusor-1"].ha, drill.difusores["difusor-2"].ha
    assert (one.peer, two.peer) == ("difusor-2", "difusor-1")
    assert one.floating_address == two.floating_address == "203.0.113.100/24"
    assert (one.priority, two.priority, one.router_id) == (150, 100, setup.HA_ROUTER_ID)
    # nothing else changed
    assert drill.admins == before.admins and drill.publishers == before.publishers
    assert (drill.difusores["difusor-1"].with_changes(ha=None)
            == before.difusores["difusor-1"].with_changes(ha=None))
    assert path.read_text().startswith("# prep-iac simulacro")


def test_an_ha_pair_needs_two_difusores(tmp_path):
    with pytest.raises(PrepError, match="two difusores"):
        setup.drill_inventory(EXAMPLES[1], tmp_path, period_s=6, ha=True)
    assert not (tmp_path / "inventario.yml").exists()


def test_the_drills_lab_can_be_named_like_every_lab_test(monkeypatch):
    monkeypatch.delenv("PREP_LAB_NAME", raising=False)
    monkeypatch.delenv("PREP_LAB_SUBNET", raising=False)
    assert setup.lab_name_and_subnet() == (setup.LAB_NAME, setup.LAB_SUBNET)
    monkeypatch.setenv("PREP_LAB_NAME", "hsim")
    monkeypatch.setenv("PREP_LAB_SUBNET", "10.82.0.0/24")
    assert setup.lab_name_and_subnet() == ("hsim", "10.82.0.0/24")
