"""The call's calendar in the inventory (iec.process, iec.calendar): each rule it is checked
against, the stage a moment falls in, what `inventory check` shows, and the conformance check
that reads it."""

import datetime as dt
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import yaml
from click.testing import CliRunner
from examples import example_text

from prep_iac.conformance.suites import test_declared as declared
from prep_iac.inventory import InventoryError, load_inventory
from prep_iac.inventory.cli import inventory as inventory_cli
from prep_iac.inventory.schema import accelerated_calendar, publication_minimum

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "inventories" / "example-difusor.yml"
EXAMPLE_IEC = REPO / "inventories" / "example-iec.yml"
TZ = ZoneInfo("America/Monterrey")


@pytest.fixture
def base():
    return yaml.safe_load(example_text(EXAMPLE))


def _write(tmp_path, data) -> Path:
    path = tmp_path / "inv.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def refused(tmp_path, data) -> str:
    """The one problem the loader reports for `data`."""
    with pytest.raises(InventoryError) as info:
        load_inventory(_write(tmp_path, data))
    (problem,) = info.value.problems
    return str(problem)


def test_the_examples_carry_the_2021_call():
    difusor, iec = load_inventory(EXAMPLE).iec, load_inventory(EXAMPLE_IEC).iec
    assert difusor.calendar == iec.calendar and difusor.process == iec.process
    cal = difusor.calendar
    assert difusor.process == "coah-2021-ayuntamientos" and not cal.accelerated
    assert cal.prep_opens_at == dt.datetime(2021, 6, 6, 18, 0, tzinfo=TZ)
    assert cal.prep_closes_at == dt.datetime(2021, 6, 7, 18, 0, tzinfo=TZ)
    assert cal.publication_ends_at == dt.datetime(2021, 6, 15, 23, 59, tzinfo=TZ)
    assert (cal.notice_by, cal.infrastructure_by, cal.public_list_from, cal.memoria_by) == (
        dt.date(2021, 5, 12), dt.date(2021, 5, 14), dt.date(2021, 6, 1), dt.date(2021, 6, 15))
    assert (cal.installation.from_, cal.installation.to) == (dt.date(2021, 5, 12),
                                                             dt.date(2021, 5, 15))
    assert cal.drills.days == [dt.date(2021, 5, 16), dt.date(2021, 5, 23), dt.date(2021, 5, 30)]


def test_the_window_is_the_calendars_publication():
    iec = load_inventory(EXAMPLE).iec
    window = iec.window
    assert (window.opens, window.closes, window.timezone) == (
        "2021-06-06 18:00", "2021-06-15 23:59", "America/Monterrey")
    assert window.opens_at == iec.calendar.prep_opens_at
    assert window.closes_at == iec.calendar.publication_ends_at


# (changes to the example's calendar, what the one problem says); each is one rule.
OUT_OF_ORDER = {
    "notice after infrastructure": (
        {"notice_by": "2021-05-15"},
        "notice_by (2021-05-15) is after infrastructure_by (2021-05-14)"),
    "infrastructure after the first drill": (
        {"infrastructure_by": "2021-05-17"},
        "infrastructure_by (2021-05-17) is after drills.from (2021-05-16)"),
    "installation backwards": (
        {"installation": {"from": "2021-05-15", "to": "2021-05-12"}},
        "iec.calendar.installation: 'to' (2021-05-12) is before 'from' (2021-05-15)"),
    "drills backwards": (
        {"drills": {"from": "2021-05-30", "to": "2021-05-16", "days": ["2021-05-16"]}},
        "iec.calendar.drills: 'to' (2021-05-16) is before 'from' (2021-05-30)"),
    "drill day outside the drills": (
        {"drills": {"from": "2021-05-16", "to": "2021-05-30", "days": ["2021-05-31"]}},
        "drill day 2021-05-31 is outside the drills' stage (2021-05-16 to 2021-05-30)"),
    "no drill day": (
        {"drills": {"from": "2021-05-16", "to": "2021-05-30", "days": []}},
        "iec.calendar.drills: 'days' lists no drill"),
    "drills on election day": (
        {"drills": {"from": "2021-05-16", "to": "2021-06-06", "days": ["2021-06-06"]}},
        "drills.to (2021-06-06) is not before the day of prep_opens (2021-06-06 18:00)"),
    "public list after the opening": (
        {"public_list_from": "2021-06-07"},
        "public_list_from (2021-06-07) is after the day of prep_opens (2021-06-06 18:00)"),
    "closes before it opens": (
        {"prep_closes": "2021-06-06 17:00"},
        "prep_closes (2021-06-06 17:00) is not after prep_opens (2021-06-06 18:00)"),
    "closes as it opens": (
        {"prep_closes": "2021-06-06 18:00"},
        "prep_closes (2021-06-06 18:00) is not after prep_opens (2021-06-06 18:00)"),
    "more than 24 h": (
        {"prep_closes": "2021-06-07 18:01"},
        "prep_closes (2021-06-07 18:01) is more than 24 h after prep_opens (2021-06-06 18:00)"),
    "publication ends before the PREP closes": (
        {"publication_ends": "2021-06-07 17:00"},
        "publication_ends (2021-06-07 17:00) is before prep_closes (2021-06-07 18:00)"),
    "memoria before the night ends": (
        {"memoria_by": "2021-06-06"},
        "memoria_by (2021-06-06) is before the day of prep_closes (2021-06-07 18:00)"),
}
AGAINST_THE_CALL = {
    "opens before 18:00": (
        {"prep_opens": "2021-06-06 17:59", "prep_closes": "2021-06-07 17:00"},
        "prep_opens (2021-06-06 17:59) is before 18:00"),
    "publication too short": (
        {"publication_ends": "2021-06-15 23:58"},
        "publication_ends (2021-06-15 23:58) is before 2021-06-15 23:59"),
}


@pytest.mark.parametrize("case", sorted(OUT_OF_ORDER | AGAINST_THE_CALL))
def test_each_rule_names_its_fields(tmp_path, base, case):
    changes, says = (OUT_OF_ORDER | AGAINST_THE_CALL)[case]
    base["iec"]["calendar"].update(changes)
    problem = refused(tmp_path, base)
    assert "inv.yml:" in problem and "iec.calendar" in problem and says in problem, problem


@pytest.mark.parametrize("case", sorted(OUT_OF_ORDER))
def test_accelerated_never_lifts_the_order(tmp_path, base, case):
    changes, says = OUT_OF_ORDER[case]
    base["iec"]["calendar"].update(changes, accelerated=True)
    assert says in refused(tmp_path, base)


@pytest.mark.parametrize("case", sorted(AGAINST_THE_CALL))
def test_accelerated_lifts_the_calls_two_rules(tmp_path, base, case):
    changes, _ = AGAINST_THE_CALL[case]
    base["iec"]["calendar"].update(changes, accelerated=True)
    assert load_inventory(_write(tmp_path, base)).iec.calendar.accelerated


def test_the_limits_themselves_are_accepted(tmp_path, base):
    """Exactly 18:00, exactly 24 h, exactly 23:59 of the ninth day, drills up to the eve."""
    base["iec"]["calendar"].update(
        prep_opens="2021-06-06 18:00", prep_closes="2021-06-07 18:00",
        publication_ends="2021-06-15 23:59", memoria_by="2021-06-07", public_list_from="2021-06-06",
        drills={"from": "2021-05-16", "to": "2021-06-05", "days": ["2021-06-05"]})
    assert load_inventory(_write(tmp_path, base)).iec.calendar.drills.to == dt.date(2021, 6, 5)


def test_the_calls_minimum_is_the_ninth_day_after_at_23_59():
    opens = dt.datetime(2021, 6, 6, 18, 0, tzinfo=TZ)
    assert publication_minimum(opens) == dt.datetime(2021, 6, 15, 23, 59, tzinfo=TZ)


@pytest.mark.parametrize("process", ["2021-coah", "co", "Coah-2021", "coah_2021", "coah 2021",
                                     "coah-2021\n", "c" * 65, 2021])
def test_a_bad_process_id_is_refused(tmp_path, base, process):
    base["iec"]["process"] = process
    problem = refused(tmp_path, base)
    assert "iec.process:" in problem and "Example: process: coah-2021-ayuntamientos" in problem


@pytest.mark.parametrize("process", ["coa", "c" * 64, "coah-2021-ayuntamientos"])
def test_process_ids_the_pattern_takes(tmp_path, base, process):
    base["iec"]["process"] = process
    assert load_inventory(_write(tmp_path, base)).iec.process == process


def test_the_process_is_required(tmp_path, base):
    del base["iec"]["process"]
    assert "iec.process: required field is missing" in refused(tmp_path, base)


def test_an_unknown_calendar_key_is_refused(tmp_path, base):
    base["iec"]["calendar"]["election_day"] = "2021-06-06"
    assert "iec.calendar.election_day: unknown key 'election_day'" in refused(tmp_path, base)


@pytest.mark.parametrize("value", ["2021-5-12", "12/05/2021", "2021-02-30", "2021-05-12 00:00"])
def test_dates_are_yyyy_mm_dd(tmp_path, base, value):
    base["iec"]["calendar"]["notice_by"] = value
    problem = refused(tmp_path, base)
    assert f"iec.calendar.notice_by: {value!r} is not a date 'YYYY-MM-DD'" in problem


def test_unquoted_dates_load(tmp_path):
    text = example_text(EXAMPLE).replace('notice_by: "2021-05-12"', "notice_by: 2021-05-12")
    path = tmp_path / "inv.yml"
    path.write_text(text)
    assert load_inventory(path).iec.calendar.notice_by == dt.date(2021, 5, 12)


@pytest.mark.parametrize(("moment", "stage"), [
    ("2021-04-30 12:00", "aviso"),
    ("2021-05-12 00:00", "instalacion"),
    ("2021-05-20 09:00", "simulacros"),
    ("2021-06-03 09:00", "lista"),
    ("2021-06-06 17:59", "lista"),
    ("2021-06-06 18:00", "operacion"),
    ("2021-06-07 18:00", "cierre"),
    ("2021-06-15 23:59", "concluida"),
])
def test_the_stage_a_moment_falls_in(moment, stage):
    calendar = load_inventory(EXAMPLE).iec.calendar
    now = dt.datetime.fromisoformat(moment).replace(tzinfo=TZ)
    assert calendar.stage(now) == stage
    assert calendar.stage(now.astimezone(dt.UTC)) == stage


def test_an_accelerated_calendar_fills_every_stage_before_the_opening(tmp_path, base):
    opens = dt.datetime(2026, 12, 3, 13, 15, 42, tzinfo=dt.UTC)
    data = accelerated_calendar(opens, opens + dt.timedelta(hours=23),
                                opens + dt.timedelta(days=2), "America/Monterrey")
    assert data["prep_opens"] == "2026-12-03 07:15:42" and data["accelerated"] is True
    base["iec"]["calendar"] = data
    cal = load_inventory(_write(tmp_path, base)).iec.calendar
    assert cal.prep_opens_at == opens
    assert (cal.notice_by <= cal.installation.from_ <= cal.infrastructure_by
            <= cal.drills.from_ <= cal.drills.to < cal.public_list_from
            < cal.prep_opens_at.date())
    assert cal.stage(opens - dt.timedelta(seconds=1)) == "lista"


def _check(path: Path) -> str:
    result = CliRunner().invoke(inventory_cli, ["check", "-i", str(path)])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_inventory_check_shows_the_calendar():
    shown = _check(EXAMPLE)
    assert "process coah-2021-ayuntamientos; calendar in America/Monterrey:" in shown
    for line in ("aviso        notice to the IEC by 2021-05-12",
                 "instalacion  2021-05-12 to 2021-05-15; infrastructure operating by 2021-05-14",
                 ("simulacros   2021-05-16 to 2021-05-30; drills on 2021-05-16, 2021-05-23, "
                  "2021-05-30"),
                 "lista        the IEC publishes the list of difusores from 2021-06-01",
                 "operacion    2021-06-06 18:00 to 2021-06-07 18:00: a cut every 600 s",
                 "cierre       2021-06-07 18:00 to 2021-06-15 23:59: the final cut stays up",
                 "concluida    after 2021-06-15 23:59; the memoria técnica is due 2021-06-15"):
        assert line in shown, (line, shown)
    assert ": concluida\n" in shown.split("now (", 1)[1]
    assert "accelerated" not in shown


def test_inventory_check_says_an_accelerated_calendar_skips_the_calls_rules(tmp_path, base):
    base["iec"]["calendar"].update(prep_opens="2021-06-06 09:00", prep_closes="2021-06-06 10:00",
                                   publication_ends="2021-06-06 11:00", accelerated=True)
    shown = _check(_write(tmp_path, base))
    assert ("accelerated calendar: the call's rules (the PREP opens at 18:00 or later, results "
            "up until 23:59 of the ninth day) are not applied; conformance reports CONV-I.1 "
            "unless waived") in shown


def _declared(inventory: Path) -> tuple[list, Exception | None]:
    """Run the conformance check on `inventory`: (evidence, its failure or None)."""
    evidence = []
    difusor = SimpleNamespace(iec=load_inventory(inventory).iec, inventory_path=inventory)
    try:
        declared.test_ventana_publicacion(difusor, lambda *shown: evidence.append(shown))
    except AssertionError as failure:
        return evidence, failure
    return evidence, None


def test_conformance_reads_the_calendar(tmp_path, base):
    evidence, failure = _declared(EXAMPLE)
    assert failure is None
    ((where, shown),) = evidence
    assert where.endswith(": iec.calendar")
    assert shown == "prep_opens 2021-06-06 18:00, publication_ends 2021-06-15 23:59 " \
                    "(America/Monterrey)"

    base["iec"]["calendar"].update(prep_opens="2021-06-06 19:00", accelerated=True)
    _, failure = _declared(_write(tmp_path, base))
    assert failure is None  # accelerated or not, the call's numbers are what it checks
    base["iec"]["calendar"].update(prep_opens="2021-06-06 09:00", prep_closes="2021-06-06 10:00")
    _, failure = _declared(_write(tmp_path, base))
    assert "el PREP abre 2021-06-06 09:00, antes de las 18:00" in str(failure)
    base["iec"]["calendar"].update(prep_opens="2021-06-06 18:00", prep_closes="2021-06-07 18:00",
                                   publication_ends="2021-06-10 23:59")
    _, failure = _declared(_write(tmp_path, base))
    assert "la publicación termina 2021-06-10 23:59, antes de 2021-06-15 23:59" in str(failure)
