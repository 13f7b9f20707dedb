"""Incidents from a sample `journalctl -o json` dump and from 5xx bursts; cut times."""

import json
from pathlib import Path
from zoneinfo import ZoneInfo

from prep_iac.memoria import incidents as inc

DATA = Path(__file__).parent.parent / "data" / "memoria"
MTY = ZoneInfo("America/Monterrey")


def _by_kind(scan):
    out = {}
    for i in scan.incidents:
        out.setdefault(i.kind, []).append(i)
    return out


def test_journal_sample():
    scan = inc.scan_files([DATA / "journal.json"])
    assert scan.malformed == 1 and scan.entries == 14
    kinds = _by_kind(scan)
    aviso = kinds["aviso"][0]
    assert aviso.duration == 10 * 60 + 10 and aviso.affects_publication
    assert "1800 s" in aviso.cause and aviso.host == "difusor-1"
    refused = kinds["corte_rechazado"][0]
    assert refused.details["cut"] == "20210606_2020_PREP_AYUN_COAH"
    assert "anterior" in refused.effect
    ban = kinds["ban"][0]
    assert ban.details == {"jail": "prep-waf", "addr": "198.51.100.7",
                           "end_message": "[prep-waf] Unban 198.51.100.7"}
    assert ban.duration == 600 and not ban.affects_publication
    assert kinds["bateria"][0].duration == 300
    reboot = kinds["reinicio"][0]
    assert reboot.duration == 180 and reboot.affects_publication
    assert [c for _, c in scan.cuts] == [
        "20210606_2000_PREP_AYUN_COAH", "20210606_2010_PREP_AYUN_COAH",
        "20210606_2050_PREP_AYUN_COAH", "20210606_2200_PREP_AYUN_COAH"]
    j = aviso.to_json(MTY)
    assert j["start"] == "2021-06-06T20:40:30-05:00" and j["duration_s"] == 610


def test_open_and_orphan_intervals():
    def entry(t, ident, msg):
        return json.dumps({"__REALTIME_TIMESTAMP": str(t * 1_000_000), "SYSLOG_IDENTIFIER": ident,
                           "MESSAGE": msg})

    entries, bad = inc.read_journal([
        entry(100, "prep-watchdog", "aviso OFF: cut x activated"),  # started before the logs
        entry(200, "prep-watchdog", "aviso ON: no cut activated for 1800 s"),
        entry(300, "prep-watchdog", "aviso ON: no cut activated for 2400 s"),  # repeated ON
        "", "[]",
    ])
    assert bad == 1
    scan = inc.scan(entries)
    first, second = scan.incidents
    assert first.start is None and first.end == 100
    assert second.start == 200 and second.end is None and second.duration is None


def test_byte_array_message_and_table_is_adjustable():
    e = {"__REALTIME_TIMESTAMP": "1000000", "SYSLOG_IDENTIFIER": "my-ups",
         "MESSAGE": list(b"power lost")}
    entries, _ = inc.read_journal([json.dumps(e)])
    rules = inc.RULES + (inc.Rule("bateria", r"^my-ups$", r"power lost", "start"),)
    assert inc.scan(entries, rules).incidents[0].kind == "bateria"
    assert inc.scan(entries).incidents == []


def test_server_error_bursts():
    rows = [{"start": f"2021-06-06T20:{m}0:00-05:00", "hits": 1000, "s5xx": e}
            for m, e in [(0, 0), (1, 50), (2, 30), (3, 5), (4, 200)]]
    bursts = inc.server_error_bursts(rows, MTY)
    assert len(bursts) == 2
    assert bursts[0].details == {"errores": 80, "hits": 2000} and bursts[0].duration == 1200
    assert "4.0 %" in bursts[0].cause


def test_cut_time():
    t = inc.cut_time("20210606_2000_PREP_AYUN_COAH", MTY)
    assert t == 1623027600
    assert inc.cut_time("not-a-cut", MTY) is None
    assert inc.cut_time("20211399_2500_X", MTY) is None


def test_rules_read_what_the_contract_writes():
    """The activator's and watchdog's own message builders, read back by RULES."""
    from prep_iac import contract

    def entry(t, ident, msg):
        return json.dumps({"__REALTIME_TIMESTAMP": str(t * 1_000_000), "SYSLOG_IDENTIFIER": ident,
                           "MESSAGE": msg, "_HOSTNAME": "d1"})

    cut = "20210606_2000_PREP_AYUN_COAH"
    entries, bad = inc.read_journal([
        entry(100, contract.JOURNAL_ACTIVATOR, contract.activated_message(cut, 10, 2, 0.5)),
        entry(200, contract.JOURNAL_WATCHDOG,
              contract.watchdog_message(contract.PUBLISHING, contract.NOTICE, "sin cortes")),
        entry(300, contract.JOURNAL_WATCHDOG,
              contract.watchdog_message(contract.NOTICE, contract.PUBLISHING, "corte nuevo")),
        entry(400, contract.JOURNAL_ACTIVATOR, contract.refused_message("C2", "firma inválida")),
        entry(500, contract.JOURNAL_UPS, "ONBATT ups: on battery"),
    ])
    assert bad == 0
    scan = inc.scan(entries)
    assert scan.cuts == [(100, cut)]
    kinds = _by_kind(scan)
    notice = kinds[contract.NOTICE][0]
    assert (notice.start, notice.end, notice.details["detail"]) == (200, 300, "sin cortes")
    assert kinds["corte_rechazado"][0].details == {"cut": "C2", "detail": "firma inválida"}
    assert kinds["bateria"][0].end is None


def test_cut_time_uses_the_contract_parser():
    from prep_iac import contract

    for cut in ("20210606_2000_PREP_AYUN_COAH", "20210606_2000", "x_20210606_2000", "a/b"):
        local = contract.parse_cut_id(cut)
        expected = local.replace(tzinfo=MTY).timestamp() if local else None
        assert inc.cut_time(cut, MTY) == expected
    assert inc.cut_time(" 20210606_2000_X\n", MTY) == 1623027600  # as typed after --cut
