"""The drill's calendar: the PREP closed through setup, open exactly for the night, then its
final results up for more periods than the notice waits for, so the difusores' watchdogs
only show the notice when cuts really stop (not before the first cut, not after the last)."""

import datetime as dt
import time

import pytest
import yaml

from prep_iac import contract, paths
from prep_iac.components import watchdog
from prep_iac.errors import PrepError
from prep_iac.inventory import load_inventory
from prep_iac.inventory.hostconfig import HostConfig
from prep_iac.onhost import watchdog as wd
from prep_iac.pyinfra_run import DeployResult
from prep_iac.simulacro import setup

EXAMPLE = paths.INVENTORIES_DIR / "example-iec.yml"
NOW = dt.datetime(2026, 12, 3, 7, 15, 42, 500_000, tzinfo=dt.UTC)


def test_the_prep_opens_with_the_first_cut_and_closes_half_a_period_after_the_last():
    opens, closes, ends = setup.night_calendar(NOW, cuts=37, period_s=10, lead_s=30,
                                               after_close_periods=5)
    assert opens >= NOW + dt.timedelta(seconds=30) and opens.microsecond == 0
    assert opens - NOW < dt.timedelta(seconds=32)
    last_cut = opens + dt.timedelta(seconds=36 * 10)
    assert closes - last_cut == dt.timedelta(seconds=5)
    assert ends - closes == dt.timedelta(seconds=5 * 10)


def test_half_a_period_is_whole_seconds_as_the_inventory_keeps_them():
    opens, closes, _ = setup.night_calendar(NOW, cuts=3, period_s=5, lead_s=0,
                                            after_close_periods=1)
    assert closes - opens == dt.timedelta(seconds=2 * 5 + 2)


def _drill_inventory(tmp_path, period_s=6):
    return setup.drill_inventory(EXAMPLE, tmp_path, period_s=period_s, ha=False)


def test_a_drill_on_real_hosts_keeps_their_calendar_and_runs_only_before_the_opening(tmp_path):
    path = setup.with_period(EXAMPLE, tmp_path, period_s=6)
    drill, real = load_inventory(path).iec, load_inventory(EXAMPLE).iec
    assert drill.calendar == real.calendar and drill.period_s == 6
    with pytest.raises(PrepError, match="would publish drill cuts as the election's results"):
        setup.drill_stage_start(path)  # the example's PREP opened in 2021
    future = tmp_path / "futuro.yml"  # the same call, in the years to come
    future.write_text(EXAMPLE.read_text().replace("2021-", "2099-"))
    (tmp_path / "drill").mkdir()
    start = setup.drill_stage_start(setup.with_period(future, tmp_path / "drill", period_s=6))
    assert 0 < start - time.time() <= 5.5


def test_the_drill_inventory_is_closed_until_the_night(tmp_path):
    path = _drill_inventory(tmp_path)
    drill, real = load_inventory(path).iec, load_inventory(EXAMPLE).iec
    assert drill.calendar.prep_opens_at > dt.datetime.now(dt.UTC) + dt.timedelta(hours=12)
    assert drill.calendar.accelerated and drill.period_s == 6
    # the rest of the real inventory's iec block is kept
    assert drill.with_changes(period_s=600, calendar=real.calendar) == real


def test_set_calendar_writes_seconds_the_deploys_read_back(tmp_path):
    path = _drill_inventory(tmp_path)
    opens, closes, ends = setup.night_calendar(NOW, cuts=10, period_s=6, lead_s=30,
                                               after_close_periods=5)
    setup.set_calendar(path, opens, closes, ends)
    iec = load_inventory(path).iec
    cal = iec.calendar
    assert (cal.prep_opens_at, cal.prep_closes_at, cal.publication_ends_at) == (opens, closes, ends)
    assert cal.accelerated and cal.stage(opens) == "operacion"
    assert (iec.window.opens_at, iec.window.closes_at) == (opens, ends)
    assert path.read_text().startswith("# prep-iac simulacro")
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize(("closes", "named"), [
    (NOW - dt.timedelta(minutes=1), "is not after prep_opens"),
    (NOW + dt.timedelta(hours=24, seconds=1), "more than 24 h after prep_opens"),
])
def test_a_calendar_the_inventory_refuses_leaves_the_file_as_it_was(tmp_path, closes, named):
    path = _drill_inventory(tmp_path)
    before = path.read_text()
    with pytest.raises(PrepError, match=named):
        setup.set_calendar(path, NOW, closes, closes + dt.timedelta(hours=1))
    assert path.read_text() == before and not list(tmp_path.glob("*.tmp"))


def test_the_window_lead_follows_the_timed_rerun_when_it_is_longer():
    assert setup.window_lead(2) == setup.WINDOW_LEAD_S + 2 * setup.WINDOW_LEAD_PER_HOST_S
    assert setup.window_lead(2, rerun_s=4) == setup.window_lead(2)  # a quick re-run
    # 50 difusores whose idempotent re-run took 12 minutes: the calendar's deploy, a fifth of
    # that work, gets half of it
    assert setup.window_lead(50, rerun_s=720) == setup.WINDOW_LEAD_S + 360


def test_open_window_keeps_the_results_up_past_the_notice(tmp_path, monkeypatch):
    """The drill's caller asks for MISSED_PERIODS + 2 periods after the PREP closes."""
    path = _drill_inventory(tmp_path)
    deployed = []
    monkeypatch.setattr(setup, "run_deploy", lambda inv, f, limit, **kw: deployed.append(
        (f, limit)) or DeployResult(0, 1, 0, 0, ""))
    start = setup.open_window(path, difusores=1, cuts=10, period_s=6, out=tmp_path)
    # the calendar's own deploy, on the roles whose files hold the dates, not a full re-run
    assert sorted(deployed) == [("deploys/calendar.py", "difusores"),
                                ("deploys/calendar.py", "publishers")]
    cal = load_inventory(path).iec.calendar
    assert cal.prep_opens_at.timestamp() == start
    last_cut = cal.prep_opens_at + dt.timedelta(seconds=9 * 6)
    assert cal.publication_ends_at - last_cut > dt.timedelta(seconds=contract.stale_after_s(6))
    assert cal.publication_ends_at - cal.prep_closes_at == dt.timedelta(
        seconds=(contract.MISSED_PERIODS + 2) * 6)


@pytest.mark.parametrize("period_s", [6, 10])
def test_the_watchdog_never_shows_the_notice_on_a_night_without_faults(tmp_path, period_s):
    """Every cut activated 3 s after its time: the watchdog, configured from the drill's
    calendar as the deploy does, goes por-abrir -> publicando until the PREP closes."""
    cuts = 20
    path = _drill_inventory(tmp_path, period_s)
    opens, closes, ends = setup.night_calendar(NOW, cuts, period_s, lead_s=30,
                                               after_close_periods=setup.AFTER_CLOSE_PERIODS)
    setup.set_calendar(path, opens, closes, ends)
    inventory = load_inventory(path)
    cfg = watchdog.watchdog_config(HostConfig(inventory, path, "difusor-ejemplo", "difusor"))
    seen = []
    for second in range(-60, int((closes - opens).total_seconds()) + 1):
        now = opens + dt.timedelta(seconds=second)
        done = [k for k in range(cuts) if k * period_s + 3 <= second]
        estado = ({"corte": f"C{done[-1]}", "activado": (opens + dt.timedelta(
            seconds=done[-1] * period_s + 3)).isoformat()} if done else {})
        state, _ = wd.decide(now, estado, cfg)
        if not seen or seen[-1] != state:
            seen.append(state)
    assert seen == ["por-abrir", "publicando"]


def test_inventory_times_take_minutes_or_seconds(tmp_path):
    data = yaml.safe_load(EXAMPLE.read_text())
    for opens, ok in (("2021-06-06 18:00", True), ("2021-06-06 18:00:30", True),
                      ("2021-06-06 18", False), ("2021-06-06 18:00:30.5", False)):
        data["iec"]["calendar"]["prep_opens"] = opens
        path = tmp_path / "inv.yml"
        path.write_text(yaml.safe_dump(data))
        if ok:
            calendar = load_inventory(path).iec.calendar
            assert calendar.prep_opens_at.second == int(opens[17:19] or 0)
        else:
            with pytest.raises(PrepError, match="local time"):
                load_inventory(path)
