"""The drill's pure logic: night times, fault plans, the schedule, delays, summaries."""

import json
from itertools import pairwise
from types import SimpleNamespace

import pytest

from prep_iac.contract import DEFAULT_PERIOD_S, MISSED_PERIODS, PUBLISHING
from prep_iac.corte.election import MAX_ACTAS
from prep_iac.corte.electorate import MIN_ACTAS
from prep_iac.errors import PrepError
from prep_iac.simulacro import summary
from prep_iac.simulacro.drill import conformance_periods, night_times
from prep_iac.simulacro.faults import _error_seconds
from prep_iac.simulacro.observer import Observer
from prep_iac.simulacro.plan import Plan, check_schedule, check_targets, default_plan, load_plan


def test_night_runs_past_midnight_every_ten_minutes():
    times = night_times("18:00", "02:00")
    assert len(times) == 49
    assert times[0].strftime("%d %H:%M") == "06 18:00"
    assert times[-1].strftime("%d %H:%M") == "07 02:00"
    assert all((b - a).seconds == DEFAULT_PERIOD_S == 600 for a, b in pairwise(times))


def test_conformance_timeout_grows_with_the_hosts():
    from prep_iac.simulacro.drill import CONFORMANCE_TIMEOUT_S, conformance_timeout

    assert conformance_timeout(3) == CONFORMANCE_TIMEOUT_S
    assert conformance_timeout(51) > conformance_timeout(40) > CONFORMANCE_TIMEOUT_S


def test_conformance_periods_cover_the_run():
    assert conformance_periods(10) * 10 >= 75
    assert conformance_periods(5) > conformance_periods(10)


def test_conformance_periods_grow_with_the_waves_of_runs():
    """8 runs at a time: the verify and 7 audits fit one wave; 25 difusores take 4."""
    assert conformance_periods(10, difusores=7) == conformance_periods(10)
    assert conformance_periods(10, difusores=8) == 16  # 2 waves of 75 s: 15 periods, and 1
    assert conformance_periods(10, difusores=25) == 31  # 4 waves: 30 periods, and 1


def test_default_plan_has_every_fault_and_ha_only_with_ha():
    kinds = {f.kind for f in default_plan(2, ha=False).faults}
    assert kinds == {"corrupt_cut", "ups_on_battery", "flood", "network_cut", "publisher_restart",
                     "freeze"}
    assert "ha_failover" in {f.kind for f in default_plan(2, ha=True).faults}


def test_default_plan_cuts_the_last_difusor():
    cut = next(f for f in default_plan(3, ha=False).faults if f.kind == "network_cut")
    assert cut.target == "difusor-3" and cut.expect.suspended is True
    assert cut.periods == MISSED_PERIODS + 1 == 4  # the notice shows, then one more period


def test_plan_file_with_a_wrong_expectation_loads(tmp_path):
    path = tmp_path / "plan.yml"
    path.write_text("faults:\n  - kind: corrupt_cut\n    at: 12\n    expect: {refused: false}\n")
    plan = load_plan(str(path), 2, False)
    assert plan.faults[0].expect.refused is False


@pytest.mark.parametrize("text, message", [
    ("faults:\n  - kind: meteor\n    at: 3\n", "not valid"),
    ("faults:\n  - kind: flood\n    at: 3\n    colour: red\n", "colour"),
    ("faults: [\n", "not valid YAML"),
])
def test_bad_plan_files_say_why(tmp_path, text, message):
    path = tmp_path / "plan.yml"
    path.write_text(text)
    with pytest.raises(PrepError) as info:
        load_plan(str(path), 2, False)
    assert message in str(info.value)


def test_missing_plan_file(tmp_path):
    with pytest.raises(PrepError, match="does not exist"):
        load_plan(str(tmp_path / "nope.yml"), 2, False)


def test_schedule_keeps_the_conformance_periods_free():
    plan = default_plan(2, ha=False, first=10)
    check_schedule(plan, periods=49, quiet=9)
    with pytest.raises(PrepError, match="needs 39"):
        check_schedule(plan, periods=31, quiet=9)
    early = load_plan("none", 2, False).model_validate({"faults": [{"kind": "flood", "at": 3}]})
    with pytest.raises(PrepError, match="falls in the first or last"):
        check_schedule(early, periods=49, quiet=9)


def test_a_night_too_short_for_its_closing_conformance_run_is_refused():
    """Without faults too: the closing run would start before the opening one, or never."""
    check_schedule(Plan(), periods=11, quiet=9)
    with pytest.raises(PrepError, match="the night has 10 periods; its conformance runs need "
                                        "at least 11"):
        check_schedule(Plan(), periods=10, quiet=9)


def test_targets_must_exist_and_ha_needs_a_pair():
    plan = default_plan(2, ha=True)
    with pytest.raises(PrepError, match="needs an HA pair"):
        check_targets(plan, ["difusor-1", "difusor-2"], ha=False)
    with pytest.raises(PrepError, match="not a difusor of this drill"):
        check_targets(default_plan(3, ha=False), ["difusor-1", "difusor-2"], ha=False)


def test_observer_records_changes_only_and_first_seen():
    obs = Observer([])
    obs.record("d1", "A", PUBLISHING, None)
    obs.record("d1", "A", PUBLISHING, None)
    obs.record("d1", "B", PUBLISHING, None)
    assert [o.corte for o in obs.timeline] == ["A", "B"]
    assert obs.first_seen("d1", "B") == obs.timeline[1].at
    assert obs.first_seen("d1", "C") is None


def test_error_seconds_counts_only_outages():
    rows = [SimpleNamespace(at=0.0, error=None), SimpleNamespace(at=10.0, error="timeout"),
            SimpleNamespace(at=12.5, error=None)]
    assert _error_seconds(rows, 5.0, 20.0) == pytest.approx(2.5)
    assert _error_seconds(rows[:2], 5.0, 20.0) == pytest.approx(10.0)


def test_summary_writes_json_and_spanish_html(tmp_path):
    results = {
        "started": "2026-11-29T05:00:00+00:00", "finished": "2026-11-29T05:10:00+00:00",
        "ok": False,
        "config": {"difusores": 2, "ha": False, "periodo_s": 10, "desde": "18:00",
                   "hasta": "02:00", "difusor_names": ["difusor-1", "difusor-2"], "faults": []},
        "checks": [{"name": "cada difusor sirvió cada corte", "ok": True, "detail": "x"}],
        "faults": [{"kind": "corrupt_cut", "at": 10, "periods": None, "target": None,
                    "expect": {"refused": False}, "observed": {"refused": True},
                    "evidence": ["difusor-1: refused (hash mismatch)"], "ok": False}],
        "cuts": [{"period": 0, "id": "20210606_1800_PREP_AYUN_COAH", "corrupt": False,
                  "delays": {"difusor-1": 1.5, "difusor-2": None}}],
        "conformance": {}, "memoria": None, "visitors": {"requests": 3, "errors": 0,
                                                          "statuses": {"200": 3}},
    }
    json_path, html_path = summary.write(results, tmp_path)
    data = json.loads(json_path.read_text())
    assert data["propagation"] == {"n": 1, "median_s": 1.5, "p95_s": 1.5, "max_s": 1.5}
    html = html_path.read_text()
    assert "Hubo expectativas que no se cumplieron" in html
    assert "hash mismatch" in html and "no cumple" in html
    assert "<script" not in html  # self-contained, nothing to load


def test_the_drill_replaces_its_own_earlier_output_and_nothing_else(tmp_path):
    """The README's first command runs again after any run, failed or not; a folder that is
    not a drill's output is never deleted."""
    from prep_iac.errors import PrepError
    from prep_iac.simulacro.cli import OWN_MARK, claim_output

    out = tmp_path / "simulacro"
    claim_output(out)  # new
    (out / "simulacro.html").write_text("noche 1")
    claim_output(out)  # its own output, marked: kept as .anterior, the folder starts anew
    assert (out / OWN_MARK).exists() and not (out / "simulacro.html").exists()
    assert (tmp_path / "simulacro.anterior" / "simulacro.html").read_text() == "noche 1"
    (out / "simulacro.html").write_text("noche 2")
    claim_output(out)  # the one before the last is dropped
    assert (tmp_path / "simulacro.anterior" / "simulacro.html").read_text() == "noche 2"
    old = tmp_path / "older"
    old.mkdir()
    (old / "simulacro.json").write_text("{}")  # a drill's output from before the mark
    claim_output(old)
    assert not (old / "simulacro.json").exists()
    assert (tmp_path / "older.anterior" / "simulacro.json").exists()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "tesis.txt").write_text("no es de un simulacro")
    with pytest.raises(PrepError, match="not a drill's output"):
        claim_output(mine)
    assert (mine / "tesis.txt").read_text() == "no es de un simulacro"


@pytest.mark.parametrize("ha", [False, True])
def test_the_default_faults_never_overlap(ha):
    """Each fault's span: its periods, one more where the difusor must come back (a cut
    network, a freeze) and, for the restart, the cut after it that judges it."""
    extra = {"network_cut": 1, "freeze": 1, "publisher_restart": 1}
    spans = sorted((f.at, f.at + getattr(f, "periods", 1) + extra.get(f.kind, 0), f.kind)
                   for f in default_plan(2, ha=ha, first=15).faults)
    for (_, end, kind), (start, _, following) in pairwise(spans):
        assert end <= start, f"{kind} runs into {following}"


@pytest.mark.parametrize("actas, says", [(MIN_ACTAS - 1, "too few"),
                                         (MAX_ACTAS + 1, "more than a local cut")])
def test_a_drill_with_actas_the_generator_refuses_stops_before_anything(tmp_path, actas, says):
    """Refused before the lab boots and before the output folder is claimed."""
    from click.testing import CliRunner

    from prep_iac.cli import cli

    out = tmp_path / "simulacro"
    res = CliRunner().invoke(cli, ["simulacro", "--actas", str(actas), "--out", str(out)])
    assert isinstance(res.exception, PrepError), res.output
    assert says in res.exception.cause
    assert not out.exists()


def test_a_night_this_machine_cannot_keep_up_with_stops_before_anything(tmp_path):
    """100 lab difusores at 5 s periods would need some 21 cores for their own timers and
    cuts: refused with the period that fits, before the lab boots or the folder is claimed."""
    from click.testing import CliRunner

    from prep_iac.cli import cli

    out = tmp_path / "simulacro"
    res = CliRunner().invoke(cli, ["simulacro", "--difusores", "100", "--periodo", "5s",
                                   "--out", str(out)])
    assert isinstance(res.exception, PrepError), res.output
    assert "100 lab difusores at 5 s periods" in res.exception.cause
    assert "--difusores" in res.exception.fix
    assert not out.exists()


def test_cuts_are_marked_by_whether_a_conformance_run_overlapped_their_way():
    """A cut counts as 'during the checks' when any moment from its production to its last
    delivery fell inside a run; without deliveries, one period is its way."""
    cuts = [{"produced_at": 100.0, "delays": {"d1": 2.0, "d2": 5.0}},   # 100–105
            {"produced_at": 110.0, "delays": {"d1": 1.0, "d2": None}},  # 110–111
            {"produced_at": 120.0, "delays": {"d1": None}},             # 120–126 (period)
            {"produced_at": 140.0, "delays": {"d1": 3.0}}]              # 140–143
    summary.mark_checks_running(cuts, [(104.0, 109.0), (125.0, 130.0)], 6)
    assert [c["checks_running"] for c in cuts] == [True, False, True, False]


def test_propagation_is_split_by_the_checks_only_when_the_cuts_are_marked(tmp_path):
    cuts = [{"delays": {"d1": 1.0, "d2": 2.0}, "checks_running": False},
            {"delays": {"d1": 30.0, "d2": 40.0}, "checks_running": True}]
    stats = summary.propagation(cuts)
    assert stats["without_checks"] == {"n": 2, "median_s": 1.5, "p95_s": 2.0, "max_s": 2.0}
    assert stats["during_checks"] == {"n": 2, "median_s": 35.0, "p95_s": 40.0, "max_s": 40.0}
    assert stats["n"] == 4 and stats["max_s"] == 40.0
    unmarked = [{k: v for k, v in c.items() if k != "checks_running"} for c in cuts]
    assert "without_checks" not in summary.propagation(unmarked)
    results = {"started": "x", "finished": "y", "ok": True,
               "config": {"difusores": 2, "ha": False, "periodo_s": 6, "desde": "18:00",
                          "hasta": "18:10", "difusor_names": ["d1", "d2"], "faults": []},
               "checks": [], "faults": [],
               "cuts": [dict(c, period=i, id=f"c{i}", corrupt=False) for i, c in enumerate(cuts)],
               "conformance": {}, "memoria": None,
               "visitors": {"requests": 0, "errors": 0, "statuses": {}}}
    _json, html = summary.write(results, tmp_path)
    text = html.read_text()
    assert "sin comprobaciones de conformidad en curso: mediana 1.5 s, p95 2.0 s" in text
    assert "mientras corrían las comprobaciones de conformidad: mediana 35.0 s" in text
