"""Signed reports: a report signed with the difusor's key checks against the Institute's copy
of the inventory; a changed byte, an unknown key or an old report fails the check."""

import datetime as dt
import json
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from examples import example_text

from prep_iac.conformance.aggregate import build_report
from prep_iac.conformance.cli import informe
from prep_iac.conformance.model import CUMPLE, CheckResult
from prep_iac.conformance.report import write_reports
from prep_iac.conformance.signature import check_report, sign_files, signer_for
from prep_iac.errors import PrepError
from prep_iac.inventory import load_inventory

REPO = Path(__file__).resolve().parents[2]


def _key(folder: Path, name: str) -> Path:
    path = folder / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(path)],
                   check=True)
    return path


@pytest.fixture
def signed(tmp_path):
    """A verify report of the example's difusor-1, signed with the key its inventory names."""
    key = _key(tmp_path, "informes")
    data = yaml.safe_load(example_text(REPO / "inventories" / "example-difusor.yml"))
    data["difusores"]["difusor-1"]["report_key"] = Path(str(key) + ".pub").read_text().strip()
    inv_path = tmp_path / "iec.yml"
    inv_path.write_text(yaml.safe_dump(data, allow_unicode=True))
    inventory = load_inventory(inv_path)
    results = [CheckResult("hardware::memoria", ["CONV-II.c.1"], "difusor-1", CUMPLE)]
    report = build_report("verify", ["difusor-1"], results, [],
                          {"direcciones": {"difusor-1": "203.0.113.10"}})
    out = tmp_path / "verificacion"
    paths = write_reports(report, out)
    assert signer_for(key, inventory.difusores) == "difusor-1"
    sign_files(paths, key)
    return out, inventory, inv_path


def test_a_signed_fresh_report_checks(signed):
    out, inventory, inv_path = signed
    found = check_report(out, inventory)
    assert found["problemas"] == [] and found["firmante"] == "difusor-1"
    assert found["archivos"] == ["conformance.json", "conformance.md", "conformance.html"]
    result = CliRunner().invoke(informe, ["verificar", str(out), "-i", str(inv_path)])
    assert result.exit_code == 0, result.output


def test_a_changed_byte_fails(signed):
    out, inventory, inv_path = signed
    html = out / "conformance.html"
    data = bytearray(html.read_bytes())
    data[len(data) // 2] ^= 1
    html.write_bytes(bytes(data))
    found = check_report(out, inventory)
    assert any(p.startswith("conformance.html: la firma no es") for p in found["problemas"])
    result = CliRunner().invoke(informe, ["verificar", str(out), "-i", str(inv_path)])
    assert result.exit_code == 1


def test_an_unknown_key_fails(signed, tmp_path):
    out, inventory, _ = signed
    other = _key(tmp_path, "otra")
    with pytest.raises(PrepError, match="not the report_key of any difusor"):
        signer_for(other, inventory.difusores)
    sign_files({"json": out / "conformance.json"}, other)
    found = check_report(out / "conformance.json", inventory)
    assert any("conformance.json: la firma no es" in p for p in found["problemas"])


def test_an_old_or_unsigned_report_fails(signed):
    out, inventory, _ = signed
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=30)
    found = check_report(out, inventory, dt.timedelta(hours=24), now=later)
    assert any("tiene más de 24 h" in p for p in found["problemas"])
    (out / "conformance.md.sig").unlink()
    assert any("conformance.md: sin firma" in p for p in check_report(out, inventory)["problemas"])


def test_a_report_about_another_difusor_fails(signed):
    out, inventory, _ = signed
    report = json.loads((out / "conformance.json").read_text())
    assert report["direcciones"] == {"difusor-1": "203.0.113.10"}
    other = inventory.difusores["difusor-1"].with_changes(address="203.0.113.99")
    moved = inventory.with_changes(difusores={"difusor-1": other})
    found = check_report(out, moved)
    assert any("el informe no es de difusor-1" in p for p in found["problemas"])
