"""The drill's publication window: closed through setup, open exactly for the night, so the
difusores' watchdogs only show the notice when cuts really stop (not before the first cut,
not while the drill collects the logs after the last)."""

import datetime as dt

import pytest
import yaml

from prep_iac import paths
from prep_iac.errors import PrepError
from prep_iac.inventory import load_inventory
from prep_iac.simulacro import setup

EXAMPLE = paths.INVENTORIES_DIR / "example-iec.yml"

from prep_iac.onhost import watchdog as wd

NOW = dt.datetime(2026, 12, 3, 7, 15, 42, 500_000, tzinfo=dt.UTC)


def test_the_night_window_opens_with_the_first_cut_and_closes_a_period_after_the_last():
    opens, closes = setup.night_window(NOW, cuts=37, period_s=10, lead_s=30)
    assert opens >= NOW + dt.timedelta(seconds=30) and opens.microsecond == 0
    assert opens - NOW < dt.timedelta(seconds=32)
    last_cut = opens + dt.timedelta(seconds=36 * 10)
    assert closes - last_cut == dt.timedelta(seconds=10)


def test_the_drill_inventory_is_closed_until_the_night(tmp_path):
    path = setup.with_period(EXAMPLE, tmp_path, period_s=6)
    window = load_inventory(path).iec.window
    assert window.opens_at > dt.datetime.now(dt.UTC) + dt.timedelta(hours=12)
    assert load_inventory(path).iec.period_s == 6


def test_set_window_writes_seconds_the_deploys_read_back(tmp_path):
    path = setup.with_period(EXAMPLE, tmp_path, period_s=6)
    opens, closes = setup.night_window(NOW, cuts=10, period_s=6, lead_s=30)
    setup.set_window(path, opens, closes)
    window = load_inventory(path).iec.window
    assert (window.opens_at, window.closes_at) == (opens, closes)
    assert path.read_text().startswith("# prep-iac simulacro")
    assert not list(tmp_path.glob("*.tmp"))


def test_a_window_the_inventory_refuses_leaves_the_file_as_it_was(tmp_path):
    path = setup.with_period(EXAMPLE, tmp_path, period_s=6)
    before = path.read_text()
    with pytest.raises(PrepError, match="closes"):
        setup.set_window(path, NOW, NOW - dt.timedelta(minutes=1))
    assert path.read_text() == before and not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize("period_s", [6, 10])
def test_the_watchdog_never_shows_the_notice_on_a_night_without_faults(tmp_path, period_s):
    """Every cut activated 3 s after its time: the watchdog goes por-abrir -> publicando
    -> cerrado, and stays cerrado long after the last cut, while logs are collected."""
    cuts = 20
    opens, closes = setup.night_window(NOW, cuts, period_s, lead_s=30)
    cfg = wd.WatchdogConfig(opens=opens.isoformat(), closes=closes.isoformat(),
                            official_url="https://www.iec.org.mx/", period_s=period_s)
    seen = []
    for second in range(-60, cuts * period_s + 600):
        now = opens + dt.timedelta(seconds=second)
        done = [k for k in range(cuts) if k * period_s + 3 <= second]
        estado = ({"corte": f"C{done[-1]}", "activado": (opens + dt.timedelta(
            seconds=done[-1] * period_s + 3)).isoformat()} if done else {})
        state, _ = wd.decide(now, estado, cfg)
        if not seen or seen[-1] != state:
            seen.append(state)
    assert seen == ["por-abrir", "publicando", "cerrado"]


def test_inventory_times_take_minutes_or_seconds(tmp_path):
    data = yaml.safe_load(EXAMPLE.read_text())
    for opens, ok in (("2021-06-06 18:00", True), ("2021-06-06 18:00:30", True),
                      ("2021-06-06 18", False), ("2021-06-06 18:00:30.5", False)):
        data["iec"]["window"]["opens"] = opens
        path = tmp_path / "inv.yml"
        path.write_text(yaml.safe_dump(data))
        if ok:
            assert load_inventory(path).iec.window.opens_at.second == int(opens[17:19] or 0)
        else:
            with pytest.raises(PrepError, match="local time"):
                load_inventory(path)
