"""`prep-iac continuidad enlace` and `continuidad ha`: what they refuse before touching
anything, their verdicts from recorded observations (as the lab runs record them), and the
CONV-IV.3 rows they give the conformance reports. The runs themselves are lab tests
(tests/lab/test_continuity.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from prep_iac.cli import cli
from prep_iac.conformance.aggregate import build_report
from prep_iac.conformance.model import CUMPLE, MANUAL, NO_CUMPLE
from prep_iac.conformance.verify import pentest_rows
from prep_iac.errors import PrepError
from prep_iac.inventory import load_inventory
from prep_iac.pentest import continuity, failover, linkcut
from prep_iac.pentest.run import write
from prep_iac.simulacro.setup import write_inventory

INVENTORIES = Path(__file__).resolve().parents[2] / "inventories"
DIFUSOR = INVENTORIES / "example-difusor.yml"  # a difusor's own: no publisher, no HA pair
IEC = INVENTORIES / "example-iec.yml"  # the IEC's: a publisher and difusor-ejemplo


@pytest.fixture
def pair(tmp_path) -> Path:
    """The IEC's example with difusor-ejemplo and difusor-par as an HA pair."""
    inv = load_inventory(IEC)
    d = inv.difusores["difusor-ejemplo"]
    floating = "203.0.113.20/24"
    a = d.with_changes(ha={"peer": "difusor-par", "floating_address": floating,
                           "priority": 150})
    b = d.with_changes(address="203.0.113.11",
                       ha={"peer": "difusor-ejemplo", "floating_address": floating})
    path = tmp_path / "par.yml"
    write_inventory(path, inv.with_changes(difusores={"difusor-ejemplo": a, "difusor-par": b}),
                    "# tests/unit/test_continuidad.py")
    return path


# ---- refusals (nothing is cut, stopped or even connected to) ------------------------------

def test_link_cut_refuses_an_unknown_host_and_an_inventory_without_publisher():
    with pytest.raises(PrepError, match="'difusor-9' is not a difusor"):
        linkcut.link_cut(str(IEC), "difusor-9", "127.0.0.1", None)
    with pytest.raises(PrepError, match="names no publisher") as err:
        linkcut.link_cut(str(DIFUSOR), "difusor-1", "127.0.0.1", None)
    assert "ledger" in err.value.fix
    with pytest.raises(PrepError, match="'publisher-9' is not a publisher"):
        linkcut.link_cut(str(IEC), "difusor-ejemplo", "127.0.0.1", None, publisher="publisher-9")


def test_link_cut_seconds_must_fit_the_period():
    least = linkcut.least_seconds(600)  # the example's 10-minute period
    assert least == 10 + (1800 + 300 + 5) + (1200 + 30)
    for seconds in (least - 1, linkcut.MAX_SECONDS + 1):
        with pytest.raises(PrepError, match=f"outside {least}..") as err:
            linkcut.link_cut(str(IEC), "difusor-ejemplo", "127.0.0.1", seconds)
        assert f"at least {least} s" in err.value.fix


def test_link_cut_needs_a_source_of_this_machine():
    with pytest.raises(PrepError, match="no source address"):
        linkcut.link_cut(str(IEC), "difusor-ejemplo", None, None)
    with pytest.raises(PrepError, match="not an address of this machine"):
        linkcut.link_cut(str(IEC), "difusor-ejemplo", "192.0.2.77", None)


def test_link_cut_in_the_lab_must_name_the_host_again_and_be_a_lab_host():
    with pytest.raises(PrepError, match="does not name --host") as err:
        linkcut.link_cut(str(IEC), "difusor-ejemplo", "127.0.0.1", None, cut_in_lab="difusor-2")
    assert "--cortar-en-laboratorio difusor-ejemplo" in err.value.fix
    with pytest.raises(PrepError, match="has no host difusor-ejemplo at 203.0.113.10"):
        linkcut.link_cut(str(IEC), "difusor-ejemplo", "127.0.0.1", None,
                         cut_in_lab="difusor-ejemplo", lab_name="no-existe")


def test_the_commands_refuse_with_one_message_before_touching_anything(tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["continuidad", "enlace", "-i", str(DIFUSOR), "--host",
                                 "difusor-1", "--origen", "127.0.0.1", "--out", str(tmp_path)])
    assert isinstance(result.exception, PrepError), result.output
    assert "names no publisher" in str(result.exception)
    result = runner.invoke(cli, ["continuidad", "ha", "-i", str(DIFUSOR), "--host",
                                 "difusor-1", "--origen", "127.0.0.1", "--out", str(tmp_path)])
    assert isinstance(result.exception, PrepError), result.output
    assert "not a node of an HA pair" in str(result.exception)
    assert list(tmp_path.iterdir()) == []  # no report of a test that did not run


def test_failover_refuses_a_host_outside_a_pair_and_seconds_out_of_range(pair):
    with pytest.raises(PrepError, match="not a node of an HA pair"):
        failover.failover(str(DIFUSOR), "difusor-1", "127.0.0.1", 120)
    with pytest.raises(PrepError, match="'difusor-9' is not a difusor"):
        failover.failover(str(pair), "difusor-9", "127.0.0.1", 120)
    for seconds in (failover.MIN_SECONDS - 1, failover.MAX_SECONDS + 1):
        with pytest.raises(PrepError, match="outside 40..600"):
            failover.failover(str(pair), "difusor-par", "127.0.0.1", seconds)
    with pytest.raises(PrepError, match="no source address"):
        failover.failover(str(pair), "difusor-par", None, 120)
    inv = load_inventory(pair)
    assert failover.pair_of(inv, str(pair), "difusor-par") == (
        ["difusor-par", "difusor-ejemplo"], "203.0.113.20")


def test_the_holder_is_read_from_the_nodes_addresses():
    out = {"a": "2: eth0    inet 10.0.0.11/24 brd 10.0.0.255 scope global eth0\n"
                "2: eth0    inet 10.0.0.100/24 scope global secondary eth0",
           "b": "2: eth0    inet 10.0.0.12/24 brd 10.0.0.255 scope global eth0\n"
                "2: eth0    inet 10.0.0.1001/24 scope global eth0"}
    assert failover.holders("10.0.0.100/24", ["a", "b"], lambda n, _: out[n]) == ["a"]
    assert failover.holders("10.0.0.10", ["a", "b"], lambda n, _: out[n]) == []
    assert failover.holders("10.0.0.100", ["a", "b"], lambda n, _: "") == []


# ---- the link cut's verdict, from recorded observations --------------------------------

ACTIVE = {"estado": "active", "fallas": 0, "ultimo": "activated", "corte": "c"}


def ledger(state="active", failures=0):
    return {"estado": state, "fallas": failures, "ultimo": "failed" if failures else "activated",
            "corte": "c"}


def cut_evidence(watchdog=True, suspended=True, back=True, recovered=True, until=32.0,
                 **changes) -> dict:
    """A 5 s period run as the lab records it: fresh, cut at 2 s, the publisher failing from
    8 s and suspending at 18 s, the link back at `until`, fresh and active again after."""
    samples = [{"t": 0.0, "servido": 200, "estado": "publicando", "corte": "c", "secuencia": 100,
                "publicador": ACTIVE}]
    for t in (4.0, 8.0, 12.0, 18.0, 24.0, 30.0):
        state = "suspended" if suspended and t >= 18 else "active"
        samples.append({"t": t, "servido": "timeout", "estado": None, "corte": None,
                        "secuencia": None, "publicador": ledger(state, min(3, int(t // 6)))})
    if back:
        samples.append({"t": until + 1, "servido": 200, "estado": "aviso", "corte": "c",
                        "secuencia": 100, "publicador": ledger("suspended", 3)})
        if recovered:
            samples.append({"t": until + 6, "servido": 200, "estado": "publicando", "corte": "c",
                            "secuencia": 200, "publicador": ACTIVE})
    notices = [{"t": 19.5, "mensaje": "aviso ON: sin corte nuevo en 15 s"},
               {"t": until + 6, "mensaje": "aviso OFF: corte c al día"}] if watchdog else []
    ev = {"host": "difusor-ejemplo", "objetivo": "https://www.example.mx/prep/",
          "origen": "10.0.0.1", "publicador": "publisher-1", "inicio": "t", "periodo_s": 5,
          "corte_minimo_s": linkcut.hold_seconds(5), "limite_s": 80, "corte_por": "laboratorio",
          "corte": {"desde": 2.0, **({"hasta": until} if back else {})}, "muestras": samples,
          "avisos": notices, "segundos": 45.0}
    ev.update(changes)
    return ev


def test_link_cut_with_suspension_notice_and_recovery_is_met():
    status, detail = linkcut.verdict(cut_evidence())
    assert status == CUMPLE, detail
    assert detail.startswith("enlace cortado 30.0 s: el publicador registró la falla a los "
                             "6.0 s y lo suspendió a los 16.0 s; el watchdog levantó el aviso "
                             "a los 17.5 s; de vuelta, el corte siguiente se sirvió al día a "
                             "los 6.0 s y el publicador lo marcó activo a los 6.0 s"), detail
    o = linkcut.observations(cut_evidence())
    assert o["aviso_servido"] and o["aviso_off"] == 38.0


def test_link_cut_without_the_watchdogs_notice_fails():
    status, detail = linkcut.verdict(cut_evidence(watchdog=False))
    assert status == NO_CUMPLE and "no levantó el aviso" in detail
    assert "suspendido" not in detail  # the publisher's part was fine


def test_a_notice_outside_the_cut_does_not_count():
    ev = cut_evidence()
    ev["avisos"] = [{"t": 60.0, "mensaje": "aviso ON: x"}]
    assert linkcut.verdict(ev)[0] == NO_CUMPLE


def test_link_cut_the_publisher_never_suspended_fails():
    status, detail = linkcut.verdict(cut_evidence(suspended=False))
    assert status == NO_CUMPLE
    assert "no marcó al difusor como suspendido" in detail and "falla registrada" in detail


def test_link_cut_without_recovery_fails():
    status, detail = linkcut.verdict(cut_evidence(recovered=False))
    assert status == NO_CUMPLE
    assert "no sirvió un corte más nuevo" in detail and "no lo marcó activo" in detail
    status, detail = linkcut.verdict(cut_evidence(back=False))
    assert status == NO_CUMPLE and "el enlace no volvió" in detail


def test_link_cut_answering_while_cut_fails():
    ev = cut_evidence()
    ev["muestras"][3] |= {"servido": 200, "estado": "publicando"}
    status, detail = linkcut.verdict(ev)
    assert status == NO_CUMPLE and "respondió con el enlace cortado (a los 12.0 s)" in detail


def test_link_cut_never_seen_or_too_short_asks_for_it_again():
    ev = cut_evidence(corte={})
    assert linkcut.verdict(ev) == (MANUAL, linkcut.verdict(ev)[1])
    assert "desconéctelo" in linkcut.verdict(ev)[1]
    short = cut_evidence(suspended=False, until=10.0, corte_por="operador")
    short["muestras"] = [s for s in short["muestras"] if s["t"] < 10 or s["t"] > 10.5]
    status, detail = linkcut.verdict(short)
    assert status == MANUAL and "cortado 8.0 s, menos de los 22 s" in detail


def test_link_cut_from_a_difusor_not_fresh_measures_nothing():
    ev = cut_evidence()
    ev["muestras"][0] |= {"estado": "aviso"}
    status, detail = linkcut.verdict(ev)
    assert status == NO_CUMPLE and "no servía el PREP al día" in detail


# ---- the failover's verdict ----------------------------------------------------------------

def ha_evidence(moved_at=1.5, served_at=2.0, restarted="active", after=("difusor-1",),
                before=("difusor-1",), **changes) -> dict:
    samples = []
    for n in range(10):
        t = n * 0.5
        holder = ["difusor-2"] if moved_at is not None and t >= moved_at else []
        served = 200 if served_at is not None and t >= served_at else "timeout"
        samples.append({"t": t, "titular": holder, "servido": served})
    ev = {"host": "difusor-1", "objetivo": "https://10.0.0.11:443", "par": ["difusor-1",
          "difusor-2"], "flotante": "10.0.0.100", "sondeo": "https://10.0.0.100:443",
          "origen": "10.0.0.1", "inicio": "t", "periodo_s": 10, "limite_s": 120,
          "muestras": samples, "restauracion": [], "antes": list(before), "servido_antes": 200,
          "detenido": "difusor-1", "detener": {"codigo": 0, "salida": ""},
          "reiniciar": {"codigo": 0, "salida": "", "activo": restarted},
          "segundos_detenido": 5.0, "despues": list(after), "servido_despues": 200,
          "segundos": 30.0}
    ev.update(changes)
    return ev


def test_failover_within_a_period_is_met():
    status, detail = failover.verdict(ha_evidence())
    assert status == CUMPLE, detail
    assert ("pasó a difusor-2 a los 1.5 s y el PREP se sirvió por ella a los 2.0 s (2.0 s sin "
            "servicio, menos de un periodo de 10 s)") in detail
    assert detail.endswith("quedó en difusor-1")


def test_failover_that_never_moves_or_serves_fails():
    status, detail = failover.verdict(ha_evidence(moved_at=None, served_at=None))
    assert status == NO_CUMPLE and "no pasó a difusor-2 en 5.0 s" in detail
    status, detail = failover.verdict(ha_evidence(served_at=None))
    assert status == NO_CUMPLE and "el PREP no se sirvió por ella" in detail


def test_failover_slower_than_a_period_fails():
    status, detail = failover.verdict(ha_evidence(periodo_s=2))
    assert status == NO_CUMPLE and "2.0 s sin servicio" in detail


def test_failover_must_start_from_one_holder_and_leave_keepalived_running():
    status, detail = failover.verdict(ha_evidence(before=()))
    assert status == NO_CUMPLE and "ningún nodo tenía" in detail and "no se detuvo nada" in detail
    status, detail = failover.verdict(ha_evidence(before=("difusor-1", "difusor-2")))
    assert "difusor-1 y difusor-2 tenían a la vez" in detail
    status, detail = failover.verdict(ha_evidence(restarted="inactive", after=()))
    assert status == NO_CUMPLE
    assert "keepalived no volvió a estar activo en difusor-1 (inactive)" in detail
    assert "quedó en ningún nodo" in detail


# ---- the reports join verify and audit ------------------------------------------------------

def test_every_continuity_report_joins_the_iv3_row_of_its_difusor(tmp_path, pair):
    inventory = load_inventory(pair)
    link = cut_evidence()
    link["fila"] = linkcut.row(link).to_json()
    ha = ha_evidence(objetivo="https://www.example.mx/prep/")  # report_url: the public_url
    ha["fila"] = failover.row(ha).to_json()
    paths = [write(link, tmp_path, "continuidad-enlace")["json"],
             write(ha, tmp_path, "continuidad-ha")["json"]]
    md = (tmp_path / "continuidad-enlace.md").read_text()
    assert "**CONV-IV.3: cumple**" in md and "journalctl -t prep-watchdog" in md
    rows = pentest_rows(inventory, paths, ["difusor-ejemplo", "difusor-par"])
    assert [(r.host, r.check, r.status) for r in rows] == [
        ("difusor-ejemplo", continuity.LINK_CHECK, CUMPLE),
        ("difusor-ejemplo", continuity.HA_CHECK, CUMPLE)]
    report = build_report("verify", ["difusor-ejemplo"], rows, [])
    iv3 = next(r for r in report["requisitos"] if r["id"] == "CONV-IV.3")
    assert iv3["hosts"]["difusor-ejemplo"]["estado"] == CUMPLE
    assert iv3["hosts"]["difusor-ejemplo"]["comprobaciones"] == [continuity.LINK_CHECK,
                                                                 continuity.HA_CHECK]
    # One failing test fails the requirement for that difusor.
    bad = cut_evidence(watchdog=False)
    bad["fila"] = linkcut.row(bad).to_json()
    failing = write(bad, tmp_path / "mal", "continuidad-enlace")["json"]
    rows = pentest_rows(inventory, [failing, paths[1]], ["difusor-ejemplo"])
    report = build_report("verify", ["difusor-ejemplo"], rows, [])
    iv3 = next(r for r in report["requisitos"] if r["id"] == "CONV-IV.3")
    assert iv3["hosts"]["difusor-ejemplo"]["estado"] == NO_CUMPLE


def test_what_could_not_be_read_is_said_not_taken_for_a_failure():
    ev = cut_evidence(avisos_error="sudo: a password is required")
    for sample in ev["muestras"][1:7]:
        sample["publicador"] = "error: Permission denied (publickey)"
    status, detail = linkcut.verdict(ev)
    assert status == NO_CUMPLE
    assert ("no se pudo leer el registro del publicador publisher-1 (error: Permission denied "
            "(publickey)): use un inventario con su acceso SSH") in detail
    assert "no se pudo leer el journal prep-watchdog del difusor (sudo: a password" in detail
    assert "no levantó el aviso" not in detail and "no marcó" not in detail


def test_failover_that_could_not_stop_keepalived_says_so():
    ev = ha_evidence(moved_at=None, muestras=[],
                     detener={"codigo": 1, "salida": "sudo: a password is required"})
    status, detail = failover.verdict(ev)
    assert status == NO_CUMPLE
    assert detail.startswith("no se pudo detener keepalived en difusor-1 (sudo: a password")
    assert "no pasó" not in detail


def test_the_publisher_must_have_the_difusor_active_before_the_cut():
    ev = cut_evidence()
    ev["muestras"][0]["publicador"] = ledger("active", 2)  # failing, still listed: a start
    assert linkcut.verdict(ev)[0] == CUMPLE
    ev["muestras"][0]["publicador"] = ledger("suspended", 3)
    status, detail = linkcut.verdict(ev)
    assert status == NO_CUMPLE
    assert ("antes del corte el publicador no tenía al difusor activo (suspendido, fallas "
            "seguidas: 3)") in detail
