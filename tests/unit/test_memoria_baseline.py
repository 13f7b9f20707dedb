"""The memoria against the portal's usual traffic (base VI): collect takes the portal's own
logs of the baseline days from the inventory's portal_logs; the report compares (a table and
a figure) and records its delivery against iec.calendar.memoria_by."""

import gzip
import json
import shutil
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from click.testing import CliRunner
from examples import example_text

from prep_iac.errors import PrepError
from prep_iac.inventory import InventoryError, load_inventory
from prep_iac.memoria import baseline, parse, report
from prep_iac.memoria.cli import memoria

DATA = Path(__file__).parent.parent / "data" / "memoria"
REPO = Path(__file__).resolve().parents[2]
TZ = ZoneInfo("America/Monterrey")


def portal_line(day: int, hour: int, addr: str, path="/noticias/") -> str:
    """The portal's own nginx, plain `combined` (no rt=, no host=)."""
    return (f'{addr} - - [{day:02d}/May/2021:{hour:02d}:15:00 -0500] "GET {path} HTTP/1.1" '
            f'200 5120 "-" "Mozilla/5.0 Firefox/89.0"\n')


def write_portal_logs(folder: Path) -> None:
    """Rotated like logrotate does: 20-24 May in access.log.1.gz (3 hits a day, 3 visitors),
    25-31 May in access.log (plain), and an older file of April that no baseline wants."""
    folder.mkdir(parents=True, exist_ok=True)
    with gzip.open(folder / "access.log.1.gz", "wt") as f:
        for day in range(20, 25):
            f.writelines(portal_line(day, h, f"10.9.0.{h}") for h in (9, 12, 20))
    with open(folder / "access.log", "w") as f:
        for day in range(25, 32):
            f.writelines(portal_line(day, h, f"10.9.0.{h}") for h in (9, 12, 20))
    (folder / "access.log.2.gz").write_bytes(gzip.compress(
        b'10.9.0.1 - - [01/Apr/2021:10:00:00 -0500] "GET / HTTP/1.1" 200 1 "-" "x"\n'))
    (folder / "error.log").write_text("not an access log\n")


def inventory_with_portal(tmp_path, **portal) -> Path:
    data = yaml.safe_load(example_text(REPO / "inventories" / "example-difusor.yml"))
    data["portal_logs"] = portal
    path = tmp_path / "inv.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_the_baseline_days_are_the_days_before_the_window():
    start, end = baseline.days_before(datetime(2021, 6, 6, 18, 0, tzinfo=TZ), 7)
    assert (start.isoformat(), end.isoformat()) == ("2021-05-30T00:00:00-05:00",
                                                    "2021-06-06T00:00:00-05:00")


def test_collect_takes_only_the_portal_files_of_the_baseline_days(tmp_path):
    write_portal_logs(tmp_path / "portal")
    inv = load_inventory(inventory_with_portal(tmp_path, folder="portal", days=3))
    assert inv.portal_logs.folder == str(tmp_path / "portal")  # beside the inventory
    out = tmp_path / "out"
    got = baseline.collect_portal(inv.portal_logs, out, datetime(2021, 6, 1, 18, tzinfo=TZ))
    # 29-31 May: only the plain access.log covers them.
    assert sorted(got["archivos"]) == ["access.log"]
    assert got["desde"].startswith("2021-05-29") and got["hasta"].startswith("2021-06-01")
    assert sorted(p.name for p in (out / baseline.BASELINE_DIR).iterdir()) == ["access.log"]
    got = baseline.collect_portal(inv.portal_logs.with_changes(days=10), out,
                                  datetime(2021, 6, 1, 18, tzinfo=TZ))
    assert sorted(got["archivos"]) == ["access.log", "access.log.1.gz"]


def test_collect_says_when_no_portal_log_covers_the_days(tmp_path):
    write_portal_logs(tmp_path / "portal")
    inv = load_inventory(inventory_with_portal(tmp_path, folder="portal", days=3))
    with pytest.raises(PrepError, match="covers the baseline days 2021-07-07 to 2021-07-09"):
        baseline.collect_portal(inv.portal_logs, tmp_path / "out",
                                datetime(2021, 7, 10, 18, tzinfo=TZ))
    assert not (tmp_path / "out" / baseline.BASELINE_DIR).exists()  # nothing half-done


def test_the_prep_logs_never_count_the_portal_baseline(tmp_path):
    write_portal_logs(tmp_path / "out" / baseline.BASELINE_DIR)
    (tmp_path / "out" / "difusor-1").mkdir()
    shutil.copy(DATA / "access-known.log", tmp_path / "out" / "difusor-1" / "prep.access.log")
    assert [p.name for p in parse.log_files(tmp_path / "out")] == ["prep.access.log"]
    assert len(parse.log_files(tmp_path / "out" / baseline.BASELINE_DIR)) == 3


@pytest.mark.parametrize("portal, says", [
    ({}, "either 'folder'"),
    ({"folder": "x", "address": "203.0.113.30"}, "either 'folder'"),
    ({"address": "203.0.113.30"}, "needs 'ssh_user' and 'host_key'"),
    ({"folder": "x", "prefix": "access.log; rm -rf /"}, "a file name start"),
    ({"folder": "x", "days": 0}, "days"),
])
def test_portal_logs_are_validated(tmp_path, portal, says):
    with pytest.raises(InventoryError) as info:
        load_inventory(inventory_with_portal(tmp_path, **portal))
    assert says in str(info.value)


def test_the_report_compares_with_the_collected_baseline(tmp_path):
    out = tmp_path / "logs"
    (out / "difusor-1").mkdir(parents=True)
    shutil.copy(DATA / "access-known.log", out / "difusor-1" / "prep.access.log")
    write_portal_logs(tmp_path / "portal")
    inv = load_inventory(inventory_with_portal(tmp_path, folder="portal", days=7))
    baseline.collect_portal(inv.portal_logs, out, datetime(2021, 6, 6, 18, tzinfo=TZ))
    data = report.build(report.Options(
        logs=out, out=tmp_path / "r", desde="2021-06-06 18:00", hasta="2021-06-07 20:00",
        pdf=False, memoria_by=date(2021, 6, 15), delivered=date(2021, 6, 14)))
    assert data["window"]["totals"]["hits"] == 13  # the portal's lines are not the PREP's
    c = data["comparison"]
    assert c["baseline_days"] == 7
    rows = {r["medida"]: r for r in c["rows"]}
    assert rows["hits"]["promedio_diario_habitual"] == 3
    assert rows["visitas"]["promedio_diario_habitual"] == 3
    assert rows["hits"]["promedio_diario_prep"] == 12 and rows["hits"]["razon"] == 4
    html = (tmp_path / "r" / "report.html").read_text()
    assert 'alt="Tráfico del PREP frente al uso habitual del portal"' in html
    assert "Entregada a tiempo." in html and "fecha límite (base VI): 2021-06-15" in html
    assert data["entrega"] == {"fecha_limite": "2021-06-15", "fecha_entrega": "2021-06-14",
                               "estado": "a tiempo", "dias_de_retraso": 0}


def test_delivery_on_the_day_is_on_time_and_after_it_late():
    assert baseline.delivery(date(2021, 6, 15), date(2021, 6, 15))["estado"] == "a tiempo"
    late = baseline.delivery(date(2021, 6, 15), date(2021, 6, 18))
    assert late["estado"] == "tarde" and late["dias_de_retraso"] == 3


def test_cli_collects_the_portal_and_records_a_late_delivery(tmp_path):
    nodes = tmp_path / "copias"
    (nodes / "difusor-1").mkdir(parents=True)
    shutil.copy(DATA / "access-known.log", nodes / "difusor-1" / "prep.access.log")
    shutil.copy(DATA / "journal.json", nodes / "difusor-1" / "journal.json")
    write_portal_logs(tmp_path / "portal")
    inv = inventory_with_portal(tmp_path, folder="portal", days=7)
    out = tmp_path / "out"
    r = CliRunner().invoke(memoria, ["collect", "-i", str(inv), "--bitacoras", str(nodes),
                                     "--desde", "2021-06-06 18:00", "--hasta",
                                     "2021-06-07 20:00", "--out", str(out)])
    assert r.exit_code == 0, r.output
    recorded = json.loads((out / f"{baseline.BASELINE_DIR}.json").read_text())
    assert sorted(recorded["archivos"]) == ["access.log"] and recorded["dias"] == 7
    r = CliRunner().invoke(memoria, ["report", "--logs", str(out), "-i", str(inv), "--no-pdf",
                                     "--desde", "2021-06-06 18:00", "--hasta",
                                     "2021-06-07 20:00", "--entrega", "2021-06-17",
                                     "--out", str(tmp_path / "r")])
    assert r.exit_code == 0, r.output
    data = json.loads((tmp_path / "r" / "report.json").read_text())
    assert data["comparison"]["baseline_days"] == 7
    assert data["entrega"]["estado"] == "tarde" and data["entrega"]["dias_de_retraso"] == 2
    assert "Entregada tarde, con 2 días de retraso." in (tmp_path / "r" / "report.html").read_text()
