"""The watchdog's decisions, journal lines and file switches (prep_iac/onhost/watchdog.py)."""

import dataclasses
import datetime as dt
import json

import pytest

from prep_iac.contract import watchdog_message
from prep_iac.onhost import watchdog as wd
from prep_iac.onhost.common import settings_json

TZ = dt.timezone(dt.timedelta(hours=-5))
CFG = wd.WatchdogConfig(opens="2021-06-06T18:00:00-05:00", closes="2021-06-15T23:59:00-05:00",
                        period_s=600, official_url="https://www.iec.org.mx/")


def at(h, m=0, s=0, day=6):
    return dt.datetime(2021, 6, day, h, m, s, tzinfo=TZ)


def estado(activado, corte="C1"):
    return {"corte": corte, "corte_fecha_hora": "2021-06-06T20:00:00-05:00",
            "activado": activado, "periodo_s": 600, "estado": "publicando"}


def test_before_window():
    state, reason = wd.decide(at(17, 59), estado("2021-06-06T17:50:00-05:00"), CFG)
    assert state == "por-abrir" and "opens at 2021-06-06T18:00" in reason


def test_after_window():
    state, _ = wd.decide(at(0, 0, day=16), estado("2021-06-06T20:00:00-05:00"), CFG)
    assert state == "cerrado"


@pytest.mark.parametrize("age_s,expected", [(0, "publicando"), (1800, "publicando"),
                                            (1801, "aviso"), (7200, "aviso")])
def test_three_periods(age_s, expected):
    now = at(20, 0) + dt.timedelta(seconds=age_s)
    state, reason = wd.decide(now, estado("2021-06-06T20:00:00-05:00"), CFG)
    assert state == expected
    if expected == "aviso":
        assert f"nothing fresh for {age_s} s (> 3 x 600 s)" in reason


def signed(emitido, activado, **more):
    return {**estado(activado), "emitido": emitido, "modo": "produccion", "secuencia": 5,
            "final": False, **more}


def test_freshness_is_the_signed_time_never_later_than_its_acceptance():
    # Signed at 20:00, accepted at 20:25 (a stuck queue): stale at 20:31, not at 20:56.
    late = signed("2021-06-06T20:00:00-05:00", "2021-06-06T20:25:00-05:00")
    assert wd.decide(at(20, 29), late, CFG)[0] == "publicando"
    state, reason = wd.decide(at(20, 31), late, CFG)
    assert state == "aviso" and "signed 2021-06-06T20:00:00-05:00" in reason
    # A publisher clock an hour ahead buys nothing: acceptance at 20:00 bounds it.
    ahead = signed("2021-06-06T21:00:00-05:00", "2021-06-06T20:00:00-05:00")
    assert wd.decide(at(20, 31), ahead, CFG)[0] == "aviso"


def test_a_drill_cut_is_no_cut_once_the_window_opens():
    drill = signed("2021-06-06T18:05:00-05:00", "2021-06-06T18:05:00-05:00",
                   modo="simulacro")
    assert wd.decide(at(18, 10), drill, CFG)[0] == "por-abrir"
    state, reason = wd.decide(at(18, 31), drill, CFG)
    assert state == "aviso" and "no cut activated since the window opened" in reason


def test_the_final_cut_stays_up_without_notice_until_the_window_closes():
    final = signed("2021-06-07T18:00:00-05:00", "2021-06-07T18:00:30-05:00", final=True)
    for day, hour in ((7, 18), (7, 19), (10, 3), (15, 23)):
        state, reason = wd.decide(at(hour, 0, day=day), final, CFG)
        assert state == "concluido" and "final cut C1" in reason, (day, hour)
    assert wd.decide(at(0, 0, day=16), final, CFG)[0] == "cerrado"
    # not final: the same night's last cut is the notice 30 minutes later
    assert wd.decide(at(18, 31, day=7), {**final, "final": False}, CFG)[0] == "aviso"


def test_every_state_over_a_whole_calendar():
    """The drill stage, the opening, the night, a freeze, the close, the end."""
    t = [
        (at(10, 0, day=1), {}, "por-abrir"),  # days before: nothing held
        (at(17, 0), signed("2021-06-06T17:00:00-05:00", "2021-06-06T17:00:00-05:00",
                           modo="simulacro"), "por-abrir"),  # a drill cut held: not shown
        (at(18, 0), {}, "por-abrir"),  # opened, first cut not yet in
        (at(18, 10), signed("2021-06-06T18:10:00-05:00", "2021-06-06T18:10:05-05:00"),
         "publicando"),
        (at(19, 0), signed("2021-06-06T18:50:00-05:00", "2021-06-06T18:50:05-05:00"),
         "publicando"),  # a heartbeat or a cut every period
        (at(19, 21), signed("2021-06-06T18:50:00-05:00", "2021-06-06T18:50:05-05:00"),
         "aviso"),  # frozen: replays are refused upstream, nothing fresh for 31 min
        (at(19, 30), signed("2021-06-06T19:30:00-05:00", "2021-06-06T19:30:02-05:00"),
         "publicando"),
        (at(18, 5, day=7), signed("2021-06-07T18:00:00-05:00", "2021-06-07T18:00:04-05:00",
                                  final=True), "concluido"),
        (at(12, 0, day=12), signed("2021-06-07T18:00:00-05:00", "2021-06-07T18:00:04-05:00",
                                   final=True), "concluido"),
        (at(0, 0, day=16), signed("2021-06-07T18:00:00-05:00", "2021-06-07T18:00:04-05:00",
                                  final=True), "cerrado"),
    ]
    assert [wd.decide(now, e, CFG)[0] for now, e, _ in t] == [want for _, _, want in t]


def test_offsets_compared_as_instants():
    # activado in UTC, now in Monterrey time: 10 minutes apart.
    state, _ = wd.decide(at(20, 10), estado("2021-06-07T01:00:00+00:00"), CFG)
    assert state == "publicando"


def test_no_cut_yet():
    assert wd.decide(at(18, 5), {}, CFG)[0] == "por-abrir"
    state, reason = wd.decide(at(18, 31), {}, CFG)
    assert state == "aviso" and "since the window opened" in reason


def test_unreadable_activado_uses_symlink_time():
    bad = estado("not a date")
    assert wd.decide(at(20, 5), bad, CFG, current_mtime=at(20, 0))[0] == "publicando"
    assert wd.decide(at(21, 0), bad, CFG, current_mtime=at(20, 0))[0] == "aviso"


def test_messages():
    assert watchdog_message("publicando", "publicando", "x") is None
    assert watchdog_message("publicando", "aviso", "why") == "aviso ON: why"
    assert watchdog_message("aviso", "publicando", "cut C2") == "aviso OFF: cut C2"
    assert watchdog_message("por-abrir", "publicando", "r") == "estado por-abrir -> publicando: r"
    assert watchdog_message(None, "por-abrir", "r") == "estado ninguno -> por-abrir: r"


def test_hora_corte():
    assert wd.hora_corte("2021-06-06T20:00:00-05:00") == "06/06/2021 20:00 (UTC-05:00)"
    assert wd.hora_corte(None) == "sin corte"


def test_notice_is_escaped():
    page = wd.render_notice("$corte_hora $corte <a href=\"$official_url\">",
                            {"corte": "<b>", "corte_fecha_hora": "2021-06-06T20:10:00-05:00"},
                            dataclasses.replace(CFG, official_url="https://x/?a=1&b=2"))
    assert page == '06/06/2021 20:10 (UTC-05:00) &lt;b&gt; <a href="https://x/?a=1&amp;b=2">'


@pytest.fixture
def disk(tmp_path):
    root, state = tmp_path / "prep", tmp_path / "state"
    root.mkdir()
    state.mkdir()
    (tmp_path / "aviso.tmpl").write_text("Ultimo corte: $corte_hora")
    cfg = dataclasses.replace(CFG, prep_root=str(root), state_dir=str(state),
                              notice_template=str(tmp_path / "aviso.tmpl"))
    return root, state, cfg


def test_run_switches_on_and_off(disk):
    root, state, cfg = disk
    (root / "estado.json").write_text(json.dumps(estado("2021-06-06T20:00:00-05:00")))
    logs = []
    assert wd.run(cfg, now=at(20, 5), log=logs.append) == "publicando"
    assert not (state / "aviso").exists()
    assert wd.run(cfg, now=at(20, 40), log=logs.append) == "aviso"
    assert (state / "aviso").exists()
    assert (state / "aviso.html").read_text() == "Ultimo corte: 06/06/2021 20:00 (UTC-05:00)"
    saved = json.loads((root / "estado.json").read_text())
    assert saved["estado"] == "aviso" and saved["corte"] == "C1"  # other fields untouched
    wd.run(cfg, now=at(20, 41), log=logs.append)  # no switch, no line
    # The activator writes a new cut with estado publicando: the watchdog still logs OFF.
    (root / "estado.json").write_text(json.dumps(estado("2021-06-06T20:50:00-05:00", "C2")))
    assert wd.run(cfg, now=at(20, 50), log=logs.append) == "publicando"
    assert not (state / "aviso").exists()
    assert [line.split(":")[0] for line in logs] == [
        "estado ninguno -> publicando", "aviso ON", "aviso OFF"]
    assert "cut C2 fresh 0 s ago" in logs[-1]


def test_run_creates_estado_when_missing(disk):
    root, state, cfg = disk
    assert wd.run(cfg, now=at(17, 0), log=lambda _: None) == "por-abrir"
    saved = json.loads((root / "estado.json").read_text())
    assert saved == {"corte": None, "corte_fecha_hora": None, "activado": None,
                     "periodo_s": 600, "estado": "por-abrir"}
    assert (state / "por-abrir").exists()
    assert oct((root / "estado.json").stat().st_mode & 0o777) == "0o644"


def test_resident_reads_its_config_at_every_pass(disk, tmp_path, monkeypatch, capsys):
    """prep-watchdog --every N: a pass, a sleep to the clock's next multiple of N, a pass...
    with the config read each time, so a config broken between passes stops it with the
    watchdog's message (systemd restarts it, Restart=always)."""
    _, state, cfg = disk
    path = tmp_path / "config.json"
    path.write_text(settings_json(cfg))
    monkeypatch.setenv("PREP_WATCHDOG_CONFIG", str(path))
    naps = []

    def sleep(seconds):
        naps.append(seconds)
        if len(naps) == 2:
            path.write_text("{")

    monkeypatch.setattr(wd.time, "sleep", sleep)
    assert wd.main(["--every", "5"]) == 2
    assert len(naps) == 2 and all(0 < n <= 5 for n in naps)
    assert (state / "estado").read_text().strip() == "cerrado"  # CFG's window closed in 2021
    out = capsys.readouterr()
    assert out.out.count("estado ninguno -> cerrado") == 1  # a line per switch, not per pass
    assert f"prep-watchdog: cannot use {path}" in out.err


def test_one_pass_by_hand_is_in_the_journal_too(disk, tmp_path, monkeypatch):
    """Plain prep-watchdog (an admin, a script) makes one pass: its switch is on the screen
    and in the journal as the watchdog's, as the memoria reads it."""
    _, _state, cfg = disk
    path = tmp_path / "config.json"
    path.write_text(settings_json(cfg))
    monkeypatch.setenv("PREP_WATCHDOG_CONFIG", str(path))
    sent = []
    monkeypatch.setattr(wd, "journal", lambda ident, line: sent.append((ident, line)))
    assert wd.main([]) == 0
    assert sent == [("prep-watchdog", sent[0][1])] and sent[0][1].startswith("estado ninguno")
