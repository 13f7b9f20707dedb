"""Output for people and for tools (issue 20, item 7): `status` in Spanish, never cut, a query
that creates nothing; `--json` in UTF-8; the renamed options and their old spellings; the
separate default folders of `verify` and `audit`."""

import io
import json
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from rich.console import Console

from prep_iac import console
from prep_iac.cli import cli
from prep_iac.onhost.publisher.ledger import Ledger
from prep_iac.publish import cli as publish_cli

LONG = "Coordinación de Sistemas del Ayuntamiento de Saltillo, guardia nocturna completa"
JSON_KEYS = {"difusor", "state", "failures", "confirmed_cut", "confirmed_at", "last_result",
             "last_reason", "contact"}


@pytest.fixture
def registry(monkeypatch, tmp_path):
    """Four difusores (one with long, accented contact data); HOME in tmp_path."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    contact = {"name": "María Pérez", "role": LONG, "phone": "844 000 0000", "hours": "24 h"}
    reg = SimpleNamespace(
        difusores=[SimpleNamespace(name=n, contact=contact if n == "d1" else None)
                   for n in ("d1", "d2", "d3", "d4")],
        period_s=600, state_dir=str(tmp_path / "publisher-state"))
    monkeypatch.setattr(publish_cli, "_registry", lambda *a: reg)
    return reg


def _status(tmp_path, *extra):
    return CliRunner().invoke(cli, ["status", "-i", str(tmp_path / "iec.yml"), *extra])


def _ledger(path):
    led = Ledger(path, period_s=600)
    led.record("d1", "activated", cut="20210606_2000_PREP_AYUN_COAH", now=1000)
    for now in (1000, 1600, 2200):
        led.record("d2", "failed", reason="sin respuesta del activador", now=now)
    led.record("d3", "activated", cut="20210607_1800_PREP_AYUN_COAH", now=1000, final=True)
    led.close()
    return path


def test_status_without_a_ledger_creates_nothing(registry, tmp_path):
    result = _status(tmp_path)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split("\t")[:2] == ["difusor", "estado"]
    assert [line.split("\t")[:2] for line in lines[1:]] == [
        [n, "sin registro"] for n in ("d1", "d2", "d3", "d4")]
    assert "sin registro" in result.stderr
    assert not (tmp_path / "home").exists() and not (tmp_path / "publisher-state").exists()
    result = _status(tmp_path, "--json")  # for tools: the same keys, still nothing created
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["difusor"] for r in rows] == ["d1", "d2", "d3", "d4"]
    assert set(rows[0]) == JSON_KEYS and rows[0]["state"] == "active"
    assert not (tmp_path / "home").exists()
    missing = tmp_path / "nowhere" / "l.sqlite"
    assert _status(tmp_path, "--ledger", str(missing)).exit_code == 0
    assert not missing.parent.exists()


def test_status_piped_is_tab_separated_in_spanish_and_whole(registry, tmp_path):
    ledger = _ledger(tmp_path / "l.sqlite")
    result = _status(tmp_path, "--ledger", str(ledger))
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert rows[0] == ["difusor", "estado", "último corte confirmado", "antigüedad",
                       "fallas seguidas", "último resultado", "contacto"]
    by_name = {r[0]: r for r in rows[1:]}
    assert {n: r[1] for n, r in by_name.items()} == {
        "d1": "activo", "d2": "suspendido", "d3": "concluido", "d4": "sin registro"}
    assert by_name["d1"][2] == "20210606_2000_PREP_AYUN_COAH"
    assert by_name["d1"][3].startswith("hace ") and by_name["d2"][3] == "nunca"
    assert by_name["d2"][4] == "3" and by_name["d2"][5] == "fallido: sin respuesta del activador"
    assert by_name["d1"][5] == "activado"
    assert by_name["d1"][6] == f"María Pérez / {LONG} / 844 000 0000 / 24 h"  # whole
    assert all(len(r) == 7 for r in rows) and "…" not in result.stdout


def test_status_on_a_terminal_folds_instead_of_cutting(registry, tmp_path, monkeypatch):
    ledger = _ledger(tmp_path / "l.sqlite")
    screen = io.StringIO()
    monkeypatch.setattr(console, "out", Console(file=screen, force_terminal=True, width=120,
                                                color_system=None))
    result = _status(tmp_path, "--ledger", str(ledger))
    assert result.exit_code == 0, result.output
    shown = screen.getvalue()
    assert "…" not in shown and "\t" not in shown
    for word in ("activo", "suspendido", "concluido", "sin registro", "estado"):
        assert word in shown
    # The long contact is folded onto several lines, every one of its letters still there,
    # and every line ends with the table's right edge: nothing cropped.
    assert LONG not in shown and "Coordinación" in shown
    assert all(shown.count(c) >= LONG.count(c) for c in set(LONG) - {" "})
    body = [line for line in shown.splitlines() if line.startswith(("│", "┃"))]
    assert body and all(line.rstrip().endswith(("│", "┃")) for line in body)


def test_status_json_keeps_its_keys_and_accents(registry, tmp_path):
    result = _status(tmp_path, "--ledger", str(_ledger(tmp_path / "l.sqlite")), "--json")
    assert result.exit_code == 0, result.output
    rows = {r["difusor"]: r for r in json.loads(result.stdout)}
    assert all(set(r) == JSON_KEYS for r in rows.values())
    assert {n: r["state"] for n, r in rows.items()} == {
        "d1": "active", "d2": "suspended", "d3": "concluded", "d4": "active"}
    assert rows["d1"]["confirmed_cut"] == "20210606_2000_PREP_AYUN_COAH"
    assert rows["d1"]["contact"]["name"] == "María Pérez"
    assert "María Pérez" in result.stdout and "\\u00e1" not in result.stdout


def test_age_in_spanish():
    assert publish_cli._age(None) == "nunca"
    assert publish_cli._age(100, now=130) == "hace 30 s"
    assert publish_cli._age(0, now=600) == "hace 10 min"
    assert publish_cli._age(0, now=3 * 3600) == "hace 3 h"


def test_echo_json_writes_utf8_whatever_the_locale(capfdbinary):
    console.echo_json({"motivo": "sin conexión", "n": 1})
    raw = capfdbinary.readouterr().out
    assert "sin conexión".encode() in raw and json.loads(raw) == {"motivo": "sin conexión",
                                                                  "n": 1}


# --- --json on the commands that report -----------------------------------------------

def test_inventory_check_json():
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "inventories" / "example-difusor.yml"
    result = CliRunner().invoke(cli, ["inventory", "check", "-i", str(example), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["valid"] is True and data["stage"]
    assert {h["host"] for h in data["hosts"]} >= {"difusor-1"}
    assert set(data["hosts"][0]) == {"host", "group", "address", "ssh_user", "ssh_port",
                                     "details"}
    assert data["calendar"][0].startswith("process ") and isinstance(data["warnings"], list)


def test_verify_and_audit_write_to_separate_default_folders():
    from prep_iac.conformance.cli import audit, verify

    def default(command):
        return next(p.default for p in command.params if p.name == "out_dir")

    assert default(verify) == "verificacion" and default(audit) == "auditoria"
    assert all(any(p.name == "as_json" for p in c.params) for c in (verify, audit))


# --- option names: Spanish, the old spellings still accepted --------------------------

def test_corte_options_in_spanish_and_their_old_spellings(tmp_path):
    shown = CliRunner().invoke(cli, ["corte", "generate", "--help"]).output
    assert "--desde" in shown and "--hasta" in shown and "--periodo" in shown
    assert "--from" not in shown and "--every" not in shown and "--to " not in shown
    names = {}
    for label, opts in (("new", ["--desde", "23:30", "--hasta", "00:30", "--periodo", "30m"]),
                        ("old", ["--from", "23:30", "--to", "00:30", "--every", "30m"])):
        out = tmp_path / label
        result = CliRunner().invoke(cli, ["corte", "generate", "--out", str(out), "--series",
                                          *opts, "--actas", "60", "--no-images"])
        assert result.exit_code == 0, result.output
        names[label] = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert names["new"] == names["old"] == [
        "20210606_2330_PREP_AYUN_COAH", "20210607_0000_PREP_AYUN_COAH",
        "20210607_0030_PREP_AYUN_COAH"]


def test_memoria_collect_folder_option_and_its_old_spelling():
    from prep_iac.memoria.cli import memoria

    shown = CliRunner().invoke(memoria, ["collect", "--help"]).output
    assert "--bitacoras FOLDER" in shown and "--from" not in shown
    opt = next(p for p in memoria.commands["collect"].params if p.name == "source")
    assert set(opt.opts) == {"--bitacoras", "--from"}
