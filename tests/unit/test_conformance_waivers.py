"""Waiver files: valid ones load; expired, unknown or malformed entries are errors, all
listed at once."""

import datetime as dt
from pathlib import Path

import pytest

from prep_iac.conformance.known import known_ids
from prep_iac.conformance.waivers import load_waivers
from prep_iac.errors import PrepError

REPO = Path(__file__).resolve().parents[2]
TODAY = dt.date(2026, 11, 29)


def load(tmp_path, text, hosts=None):
    path = tmp_path / "w.yml"
    path.write_text(text)
    return load_waivers(path, known_ids(), hosts, today=TODAY)


def test_valid(tmp_path):
    w = load(tmp_path, """
waivers:
  - id: CONV-II.c.2
    reason: un contenedor no tiene hardware redundante
    owner: Operador
    expires: 2027-06-30
  - id: hardware::memoria
    reason: lab
    owner: Operador
    expires: "2027-01-01"
    hosts: [difusor-1]
""", hosts={"difusor-1"})
    assert [x.id for x in w] == ["CONV-II.c.2", "hardware::memoria"]
    assert w[1].hosts == ("difusor-1",) and w[0].expires == dt.date(2027, 6, 30)
    assert w[1].covers("hardware::memoria", ["CONV-II.c.1"], "difusor-1")
    assert not w[1].covers("hardware::memoria", ["CONV-II.c.1"], "difusor-2")
    assert w[0].covers("redundancy::disco_redundante", ["CONV-II.c.2"], "difusor-2")


def test_every_problem_listed(tmp_path):
    with pytest.raises(PrepError) as info:
        load(tmp_path, """
waivers:
  - id: CONV-II.c.9
    reason: x
    owner: y
    expires: 2027-01-01
  - id: CONV-II.c.2
    reason: x
    owner: y
    expires: 2026-11-28
  - id: hardware::memoria
    owner: y
    expires: 2027-01-01
  - id: hardware::disco
    reason: x
    owner: y
    expires: mañana
  - id: hardware::disco
    reason: x
    owner: y
    expires: 2027-01-01
    hosts: [difusor-9]
  - id: hardware::disco
    reason: x
    owner: y
    expires: 2027-01-01
    ticket: 12
""", hosts={"difusor-1"})
    text = str(info.value)
    assert "6 waiver problem(s)" in text
    assert "waiver 1 (CONV-II.c.9): unknown id 'CONV-II.c.9'" in text
    assert "waiver 2 (CONV-II.c.2): expired on 2026-11-28" in text
    assert "waiver 3 (hardware::memoria): missing reason" in text
    assert "'mañana' is not a date" in text
    assert "host 'difusor-9' is not in the inventory" in text
    assert "unknown field 'ticket'" in text


def test_expiring_today_is_still_valid(tmp_path):
    load(tmp_path, "waivers:\n- {id: CONV-VI, reason: x, owner: y, expires: 2026-11-29}\n")


def test_not_a_waiver_file(tmp_path):
    with pytest.raises(PrepError, match="'waivers' list"):
        load(tmp_path, "- id: CONV-VI\n")
    with pytest.raises(PrepError, match="no such waiver file"):
        load_waivers(tmp_path / "none.yml", known_ids())


def test_parametrized_check_ids_match_their_base(tmp_path):
    w = load(tmp_path, "waivers:\n- {id: 'hardware::disco[x]', reason: x, owner: y, "
                       "expires: 2027-01-01}\n")
    assert w[0].covers("hardware::disco[x]", [], "h")


def test_lab_waivers_load_and_carry_reasons():
    waivers = load_waivers(REPO / "inventories" / "lab-waivers.yml", known_ids())
    assert waivers and all(len(w.reason) > 20 and w.owner for w in waivers)
    assert "CONV-II.c.2" in {w.id for w in waivers}
