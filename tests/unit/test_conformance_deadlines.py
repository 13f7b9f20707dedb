"""The call's deadlines (conformance/deadlines.py) met, pending or failing by the evidence
found in the known folders, and `verify`'s calendario:: rows from the same decision."""

import datetime as dt
import json
from pathlib import Path

import pytest

from prep_iac.conformance import deadlines
from prep_iac.conformance.deadlines import FAILING, MET, NOT_APPLICABLE, PENDING, Evidence
from prep_iac.conformance.model import CUMPLE, NO_CUMPLE, CheckResult
from prep_iac.conformance.verify import with_calendar
from prep_iac.inventory import load_inventory

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "inventories" / "example-difusor.yml"
MTY = dt.timezone(dt.timedelta(hours=-5))  # Monterrey in May and June 2021 (CDT)


def _cal():
    return load_inventory(EXAMPLE).iec.calendar


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=MTY)


def _states(decisions) -> dict[str, str]:
    return {d.deadline.key: d.state for d in decisions}


def test_before_every_deadline_without_evidence_each_is_pending_and_says_what_is_missing():
    decisions = deadlines.decide(_cal(), [], _at("2021-05-01 12:00"))
    assert set(_states(decisions).values()) == {PENDING}
    aviso = decisions[0]
    assert aviso.deadline.requirement == "CONV-I.4"
    assert aviso.detail.startswith("plazo: a más tardar el 12 de mayo de 2021; falta: el aviso")


def test_a_deadline_passed_without_evidence_fails_naming_what_is_missing():
    decisions = deadlines.decide(_cal(), [], _at("2021-05-15 00:01"))
    assert _states(decisions) == {"aviso": FAILING, "contactos": FAILING,
                                  "infraestructura": FAILING, "simulacros": PENDING,
                                  "logotipo": PENDING, "memoria": PENDING}
    infra = next(d for d in decisions if d.deadline.key == "infraestructura")
    assert "plazo vencido (a más tardar el 14 de mayo de 2021)" in infra.detail
    assert "un informe de `prep-iac verify`" in infra.detail


def test_the_last_minute_of_the_day_still_counts_and_the_next_does_not():
    on_time = Evidence("aviso", _at("2021-05-12 23:59"), "aviso, folio EXP-001-01")
    late = Evidence("aviso", _at("2021-05-13 00:00"), "aviso, folio EXP-002-01")
    now = _at("2021-05-20 10:00")
    assert _states(deadlines.decide(_cal(), [on_time], now))["aviso"] == MET
    [aviso] = [d for d in deadlines.decide(_cal(), [late], now) if d.deadline.key == "aviso"]
    assert aviso.state == FAILING and "EXP-002-01 del 13 de mayo de 2021" in aviso.detail


def test_a_failed_run_or_drill_is_no_evidence():
    failed = [Evidence("verificacion", _at("2021-05-13 10:00"), "verify", ok=False),
              Evidence("simulacro", _at("2021-05-20 10:00"), "drill", ok=False)]
    states = _states(deadlines.decide(_cal(), failed, _at("2021-06-01 10:00")))
    assert states["infraestructura"] == FAILING and states["simulacros"] == FAILING


def test_a_drill_before_the_drills_stage_and_a_memoria_before_the_close_do_not_count():
    early = [Evidence("simulacro", _at("2021-05-01 10:00"), "drill"),
             Evidence("memoria", _at("2021-06-07 12:00"), "memoria")]
    states = _states(deadlines.decide(_cal(), early, _at("2021-06-20 10:00")))
    assert states["simulacros"] == FAILING and states["memoria"] == FAILING


def test_an_accelerated_calendar_has_no_deadlines_of_the_call():
    cal = _cal().with_changes(accelerated=True)
    decisions = deadlines.decide(cal, [], _at("2030-01-01 00:00"))
    assert {d.state for d in decisions} == {NOT_APPLICABLE}
    assert "calendario acelerado" in decisions[0].detail


def _write(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def test_evidence_is_read_from_the_known_folders(tmp_path):
    _write(tmp_path / "expediente" / "expediente.json", {"emisiones": [
        {"numero": 1, "generado": "2021-05-10T12:00:00-05:00",
         "documentos": {"aviso": "EXP-001-01", "contactos": "EXP-001-04",
                        "logotipo": "EXP-001-05"}}]})
    _write(tmp_path / "verificacion" / "historial.json", [
        {"generado": "2021-05-13T20:00:00+00:00", "infraestructura_sin_fallas": False},
        {"generado": "2021-05-14T20:00:00+00:00", "infraestructura_sin_fallas": True}])
    _write(tmp_path / "simulacro.anterior" / "simulacro.json",
           {"finished": "2021-05-23T21:00:00-05:00", "ok": True})
    _write(tmp_path / "simulacro" / "simulacro.json",
           {"finished": "2021-05-30T21:00:00-05:00", "ok": False})
    _write(tmp_path / "memoria" / "report.json", {"generated": "2021-06-14T10:00:00-05:00"})
    (tmp_path / "memoria" / "broken.json").write_text("{")
    evidence = deadlines.gather(deadlines.Folders.under(tmp_path))
    decisions = deadlines.decide(_cal(), evidence, _at("2021-06-20 10:00"))
    assert set(_states(decisions).values()) == {MET}
    drill = next(d for d in decisions if d.deadline.key == "simulacros")
    assert "23 de mayo de 2021" in drill.detail  # the earlier drill, the later one failed


def test_a_date_without_its_offset_proves_nothing(tmp_path):
    _write(tmp_path / "memoria" / "report.json", {"generated": "2021-06-14T10:00:00"})
    assert deadlines.gather(deadlines.Folders.under(tmp_path)) == []


def _passing(hosts):
    return [CheckResult("hardware::nucleos", ["CONV-II.c.1"], h, CUMPLE) for h in hosts]


def _row(report, req):
    return next(r for r in report["requisitos"] if r["id"] == req)


def test_verify_shows_a_pending_deadline_without_failing(tmp_path):
    inv = load_inventory(EXAMPLE)
    # A sysadmin's working run (not strict): the pending deadline fails nothing.
    report, clean = with_calendar(inv, ["difusor-1"], _passing(["difusor-1"]), [], {},
                                  deadlines.Folders.under(tmp_path),
                                  now=_at("2021-05-11 09:00"), strict=False)
    assert clean and report["exit_code"] == 0
    assert _row(report, "CONV-I.4")["estado"] == "pendiente"
    # The Institute's (strict) run owes no evidence for a deadline still to come.
    strict, _ = with_calendar(inv, ["difusor-1"], _passing(["difusor-1"]), [], {},
                              deadlines.Folders.under(tmp_path), now=_at("2021-05-11 09:00"))
    assert "CONV-I.4" not in strict["incumplidos"]
    assert _row(strict, "CONV-I.4")["evidencia_pendiente"] == []
    # This clean run, before the 14 May deadline, is the evidence the infrastructure operates.
    assert _row(report, "CONV-I.5")["estado"] == CUMPLE
    assert report["resumen"]["pendiente"] >= 1
    from prep_iac.conformance.report import write_reports

    paths = write_reports(report, tmp_path / "verificacion")
    assert '<span class="st st-pendiente">pendiente</span>' in paths["html"].read_text()
    assert "calendario::aviso" in paths["md"].read_text()


def test_verify_fails_a_passed_deadline_and_names_what_is_missing(tmp_path):
    inv = load_inventory(EXAMPLE)
    failing = [CheckResult("hardware::memoria", ["CONV-II.c.1"], "difusor-1", NO_CUMPLE)]
    report, clean = with_calendar(inv, ["difusor-1"], failing, [], {},
                                  deadlines.Folders.under(tmp_path),
                                  now=_at("2021-05-15 09:00"))
    assert not clean and report["exit_code"] == 1
    assert {"CONV-I.4", "CONV-I.5", "CONV-II.c.1"} <= set(report["incumplidos"])
    check = next(c for c in report["comprobaciones"] if c["check"] == "calendario::aviso")
    assert check["status"] == NO_CUMPLE and "falta: el aviso de participación" in check["detail"]


def test_verify_records_each_run_for_the_next(tmp_path):
    deadlines.record_verify_run(tmp_path, "2021-05-13T10:00:00-05:00", True, [])
    deadlines.record_verify_run(tmp_path, "2021-05-16T10:00:00-05:00", False, ["CONV-I.4"])
    runs = json.loads((tmp_path / "historial.json").read_text())
    assert [r["infraestructura_sin_fallas"] for r in runs] == [True, False]
    [first, second] = deadlines.verify_evidence(tmp_path)
    assert first.ok and not second.ok


@pytest.mark.parametrize("check_id", sorted(deadlines.CHECK_IDS))
def test_a_waiver_may_name_each_deadline(check_id):
    from prep_iac.conformance.known import known_ids

    assert check_id in known_ids()
