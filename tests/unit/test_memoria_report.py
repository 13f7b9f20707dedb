"""`prep-iac memoria report` end to end on small logs, and its bad-input messages."""

import gzip
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from prep_iac.errors import PrepError
from prep_iac.memoria import report
from prep_iac.memoria.cli import memoria

DATA = Path(__file__).parent.parent / "data" / "memoria"


def _baseline_line(day: int, hour: int, addr: str) -> str:
    return (f'{addr} - - [{day:02d}/Jun/2021:{hour:02d}:00:00 -0500] "GET /index.html HTTP/1.1" '
            f'200 100 "-" "Mozilla/5.0 Firefox/89.0" rt=0.005 host=prep.example.mx\n')


@pytest.fixture
def logs(tmp_path):
    d = tmp_path / "logs" / "difusor-1"
    d.mkdir(parents=True)
    shutil.copy(DATA / "access-known.log", d / "prep.access.log")
    shutil.copy(DATA / "journal.json", d / "journal.json")
    # Two usual days before the election (4 and 5 June): 2 hits and 2 visitors a day.
    with gzip.open(d / "prep.access.log.1.gz", "wt") as f:
        for day in (4, 5):
            f.write(_baseline_line(day, 10, "10.1.0.1") + _baseline_line(day, 11, "10.1.0.2"))
    return tmp_path / "logs"


def test_report_files_and_numbers(logs, tmp_path):
    out = tmp_path / "out"
    data = report.build(report.Options(
        logs=logs, out=out, desde="2021-06-06 18:00", hasta="2021-06-07 20:00", baseline_days=2,
        rate_limit_rps=50, link_mbps=100, cut_ids=["20210606_2100_PREP_AYUN_COAH"]))
    assert data["window"]["totals"]["hits"] == 13
    on_disk = json.loads((out / "report.json").read_text())
    assert on_disk["window"]["totals"] == data["window"]["totals"]
    c = on_disk["comparison"]
    rows = {r["medida"]: r for r in c["rows"]}
    assert c["baseline_days"] == 2
    assert rows["hits"]["promedio_diario_habitual"] == 2
    assert rows["visitas"]["promedio_diario_habitual"] == 2
    # 13 hits in a 26-hour window = 12 a day; 12 / 2 = 6x
    assert rows["hits"]["promedio_diario_prep"] == 12 and rows["hits"]["razon"] == 6
    kinds = {i["kind"] for i in on_disk["incidents"]}
    assert {"aviso", "corte_rechazado", "reinicio", "ban", "bateria"} <= kinds
    assert "corte" not in kinds
    assert len(on_disk["cuts"]) == 5  # 4 activations + the --cut given
    temas = {s["tema"] for s in on_disk["suggestions"]}
    assert {"Hora pico", "Límites de solicitudes", "Capacidad del enlace"} <= temas
    html = (out / "report.html").read_text()
    assert html.count("data:image/svg+xml;base64,") == 5 and "Comparativo" in html
    assert "Aviso de actualización interrumpida" in html
    assert 'src="http' not in html and "<link" not in html and "<script" not in html
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF")


def test_cli_report(logs, tmp_path):
    out = tmp_path / "cli"
    r = CliRunner().invoke(memoria, ["report", "--logs", str(logs), "--out", str(out),
                                     "--no-pdf", "--rate-limit", "50"])
    assert r.exit_code == 0, r.output
    assert (out / "report.html").exists() and not (out / "report.pdf").exists()


def test_unknown_format(tmp_path):
    (tmp_path / "l").mkdir()
    (tmp_path / "l" / "access.log").write_text('{"json": "log"}\n' * 5)
    with pytest.raises(PrepError, match="none of the 5 lines"):
        report.build(report.Options(logs=tmp_path / "l", out=tmp_path / "o", pdf=False))
    assert json.loads((tmp_path / "o" / "report.json").read_text())["input"]["malformed"] == 5


def test_empty_period(logs, tmp_path):
    with pytest.raises(PrepError, match="no requests between") as e:
        report.build(report.Options(logs=logs, out=tmp_path / "o", desde="2021-07-01 00:00",
                                    hasta="2021-07-02 00:00", pdf=False))
    assert "the logs cover" in e.value.cause
    assert (tmp_path / "o" / "report.json").exists()


def test_baseline_must_precede(logs, tmp_path):
    with pytest.raises(PrepError, match="does not precede") as e:
        report.build(report.Options(logs=logs, out=tmp_path / "o", desde="2021-06-06 18:00",
                                    baseline_logs=DATA / "access-known.log", pdf=False))
    assert "--baseline-logs" in e.value.fix
    # The rest of the report is still there, without the comparison.
    data = json.loads((tmp_path / "o" / "report.json").read_text())
    assert data["comparison"] is None and data["window"]["totals"]["hits"] == 13
    assert (tmp_path / "o" / "report.html").exists()


def test_other_bad_options(logs, tmp_path):
    with pytest.raises(PrepError, match="time zone"):
        report.build(report.Options(logs=logs, out=tmp_path / "o", tz="Mars/Olympus"))
    with pytest.raises(PrepError, match="cannot read the date"):
        report.build(report.Options(logs=logs, out=tmp_path / "o", desde="6 de junio"))
    with pytest.raises(PrepError, match="no such logs"):
        report.build(report.Options(logs=tmp_path / "nope", out=tmp_path / "o"))
    with pytest.raises(PrepError, match="needs --desde"):
        report.build(report.Options(logs=logs, out=tmp_path / "o", baseline_days=3))
    r = CliRunner().invoke(memoria, ["report", "--logs", str(logs), "--out", str(tmp_path / "o"),
                                     "--baseline-days", "2", "--baseline-logs", str(logs)])
    assert isinstance(r.exception, PrepError) and "choose one" in r.exception.fix
