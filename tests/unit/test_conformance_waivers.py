"""Waiver files: only the Institute's signature makes a waiver count; unsigned, forged,
expired and out-of-scope waivers are shown as such and never applied; malformed entries are
errors, all listed at once."""

import datetime as dt
import subprocess
from pathlib import Path

import pytest

from prep_iac.conformance import waivers as waivers_module
from prep_iac.conformance.known import known_ids
from prep_iac.conformance.waivers import (
    BAD_SIGNATURE,
    EXPIRED,
    OUT_OF_SCOPE,
    UNSIGNED,
    VALID,
    load_waivers,
    sign_file,
)
from prep_iac.errors import PrepError

REPO = Path(__file__).resolve().parents[2]
TODAY = dt.date(2026, 11, 29)
PROCESS = "coah-2021-ayuntamientos"


@pytest.fixture(scope="module")
def iec_key(tmp_path_factory):
    return _key(tmp_path_factory.mktemp("iec"), "iec-dispensas")


def _key(folder: Path, name: str) -> Path:
    path = folder / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(path)],
                   check=True)
    return path


def pub(key: Path) -> str:
    return Path(str(key) + ".pub").read_text().strip()


def load(tmp_path, text, hosts=None, key=None, signers=None):
    path = tmp_path / "w.yml"
    path.write_text(text)
    if key:
        sign_file(path, key)
    return load_waivers(path, known_ids(), hosts, today=TODAY,
                        signers=signers if signers is not None else ([pub(key)] if key else []),
                        process=PROCESS)


SIGNED = f"""process: {PROCESS}
waivers:
  - id: CONV-II.c.2
    reason: el RAID es de la controladora
    owner: DEIE
    expires: 2027-06-30
  - id: hardware::memoria
    reason: lab
    owner: DEIE
    expires: 2026-11-28
    hosts: [difusor-1]
  - id: hardware::disco
    reason: lab
    owner: DEIE
    expires: 2027-06-30
    hosts: [difusor-9]
"""


def test_signed_by_the_institute_counts_expired_and_out_of_scope_do_not(tmp_path, iec_key):
    w = load(tmp_path, SIGNED, hosts={"difusor-1"}, key=iec_key)
    assert [x.status for x in w] == [VALID, EXPIRED, OUT_OF_SCOPE]
    assert w[0].covers("redundancy::disco_redundante", ["CONV-II.c.2"], "difusor-1")
    assert not w[1].covers("hardware::memoria", ["CONV-II.c.1"], "difusor-1")
    assert "2026-11-28" in w[1].why and "difusor-9" in w[2].why


def test_unsigned_does_not_count(tmp_path):
    w = load(tmp_path, SIGNED, hosts={"difusor-1", "difusor-9"})
    assert {x.status for x in w} == {UNSIGNED}
    assert not w[0].covers("x::y", ["CONV-II.c.2"], "difusor-1")


def test_forged_or_changed_does_not_count(tmp_path, iec_key):
    forger = _key(tmp_path, "no-es-del-iec")
    w = load(tmp_path, SIGNED, hosts={"difusor-1"}, key=forger, signers=[pub(iec_key)])
    assert {x.status for x in w} == {BAD_SIGNATURE}
    # Signed by the Institute, then one byte changed: the signature no longer holds.
    path = tmp_path / "w.yml"
    sign_file(path, iec_key)
    path.write_text(SIGNED.replace("2027-06-30", "2029-06-30", 1))
    w = load_waivers(path, known_ids(), {"difusor-1"}, today=TODAY, signers=[pub(iec_key)],
                     process=PROCESS)
    assert {x.status for x in w} == {BAD_SIGNATURE}
    # No waiver keys known (an audit without -i): nothing can count.
    sign_file(path, iec_key)
    w = load_waivers(path, known_ids(), None, today=TODAY, signers=None)
    assert {x.status for x in w} == {BAD_SIGNATURE}


def test_another_process_is_out_of_scope(tmp_path, iec_key):
    w = load(tmp_path, SIGNED.replace(PROCESS, "otro-proceso"), hosts={"difusor-1"},
             key=iec_key)
    assert {x.status for x in w} == {OUT_OF_SCOPE}


def test_sign_command(tmp_path, iec_key):
    from click.testing import CliRunner

    from prep_iac.conformance.cli import dispensa

    path = tmp_path / "w.yml"
    path.write_text(SIGNED)
    result = CliRunner().invoke(dispensa, ["firmar", str(path), "--llave", str(iec_key)])
    assert result.exit_code == 0, result.output
    assert waivers_module.signature_path(path).is_file()
    w = load_waivers(path, known_ids(), {"difusor-1", "difusor-9"}, today=TODAY,
                     signers=[pub(iec_key)], process=PROCESS)
    assert w[0].valid


def test_valid(tmp_path, iec_key):
    w = load(tmp_path, f"""
process: {PROCESS}
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
""", hosts={"difusor-1"}, key=iec_key)
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
    # Expired and out-of-scope entries are not errors: they load, and never count.
    assert "4 waiver problem(s)" in text
    assert "waiver 1 (CONV-II.c.9): unknown id 'CONV-II.c.9'" in text
    assert "waiver 3 (hardware::memoria): missing reason" in text
    assert "'mañana' is not a date" in text
    assert "unknown field 'ticket'" in text


def test_expiring_today_is_still_valid(tmp_path):
    load(tmp_path, "waivers:\n- {id: CONV-VI, reason: x, owner: y, expires: 2026-11-29}\n")


def test_not_a_waiver_file(tmp_path):
    with pytest.raises(PrepError, match="'waivers' list"):
        load(tmp_path, "- id: CONV-VI\n")
    with pytest.raises(PrepError, match="no such waiver file"):
        load_waivers(tmp_path / "none.yml", known_ids())


def test_parametrized_check_ids_match_their_base(tmp_path, iec_key):
    w = load(tmp_path, f"process: {PROCESS}\nwaivers:\n- {{id: 'hardware::disco[x]', "
                       "reason: x, owner: y, expires: 2027-01-01}\n", key=iec_key)
    assert w[0].covers("hardware::disco[x]", [], "h")


def test_lab_waivers_load_and_carry_reasons():
    waivers = load_waivers(REPO / "inventories" / "lab-waivers.yml", known_ids())
    assert waivers and all(len(w.reason) > 20 and w.owner for w in waivers)
    assert "CONV-II.c.2" in {w.id for w in waivers}
