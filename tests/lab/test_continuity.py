"""The continuity tests of CONV-IV.3 on lab hosts, as an operator runs them: `prep-iac
continuidad ha` on an HA pair and `continuidad enlace` on a difusor whose publisher pushes a
cut every 10 s (the lab cuts the link itself, as the drill's network_cut does).

    PREP_LAB_NAME=hc PREP_LAB_SUBNET=10.81.0.0/24 PREP_LAB_DIFUSORES=2 \
        .venv/bin/pytest -m lab tests/lab/test_continuity.py

The first two difusores form the pair (tests/lab/continuity/setup.py); the link cut is on
the second, after the failover. With the watchdog stopped, the same cut is "no cumple".
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "pipeline"))
from continuity.setup import PUBLISHER_UNITS, continuity_inventory, drop_cut
from helpers import blank, make_cut, site
from web.inventory import gateway

from prep_iac import contract
from prep_iac.conformance.model import CUMPLE, NO_CUMPLE
from prep_iac.inventory import load_inventory
from prep_iac.pentest import linkcut
from prep_iac.pentest.continuity import HA_CHECK, LINK_CHECK
from prep_iac.pentest.failover import failover
from prep_iac.pentest.run import write
from prep_iac.pyinfra_run import run_deploy

pytestmark = pytest.mark.lab
DEPLOY = "tests/lab/continuity/deploy_continuity.py"
# Periods the lab keeps up on a loaded machine: the publisher's round must end within two
# (its unit's start timeout); with 5 s at load ~100 it did not, and the difusores went stale.
PERIOD_S = 10
CUT = "20210606_1800_PREP_AYUN_COAH"  # pushed to blank difusores, left blank afterwards
PUBLISHER = "publisher-1"


def estado(lab, name) -> dict:
    proc = lab.run(name, f"cat {contract.ESTADO_FILE}")
    try:
        return json.loads(proc.stdout)
    except ValueError:
        return {}


def wait_for(what: str, check, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(1)
    raise AssertionError(f"no {what} in {timeout:.0f} s")


def published(lab, node) -> None:
    """The cut served fresh on `node`: where a continuity test starts from."""
    try:
        wait_for(f"{CUT} published on {node}",
                 lambda: estado(lab, node).get("estado") == contract.PUBLISHING
                 and estado(lab, node).get("corte") == CUT, timeout=6 * PERIOD_S)
    except AssertionError as e:  # say what the difusor serves and why it refused
        journal = lab.run(node, f"sudo journalctl -q -n 15 -t {contract.JOURNAL_ACTIVATOR}").stdout
        raise AssertionError(f"{e}; estado {estado(lab, node)}; activator:\n{journal}") from None


@pytest.fixture(scope="module")
def pair(lab, tmp_path_factory):
    """The pair and the publisher deployed twice with short periods; the publisher's service
    pushing a cut (and renewing it) every period."""
    nodes = sorted(n for n in lab.hosts if n.startswith("difusor-"))[:2]
    if len(nodes) < 2 or PUBLISHER not in lab.hosts:
        pytest.fail("the continuity tests need 2 difusores and a publisher "
                    "(PREP_LAB_DIFUSORES=2, PREP_LAB_PUBLISHERS=1)", pytrace=False)
    tmp = tmp_path_factory.mktemp("continuidad")
    inventory = continuity_inventory(lab, tmp, PERIOD_S)
    started = time.monotonic()
    first = run_deploy(inventory, DEPLOY)
    assert first.ok, first.output[-4000:]
    second = run_deploy(inventory, DEPLOY)
    print(f"deploys: {time.monotonic() - started:.0f} s", file=sys.stderr)
    drop = load_inventory(inventory).publishers[PUBLISHER].drop_dir
    for node in nodes:
        blank(lab, node)  # an earlier module's later cut would refuse this one as older
    try:
        drop_cut(lab, load_inventory(inventory).publishers[PUBLISHER],
                 make_cut(tmp / "cortes", CUT, site(n_actas=10)))
        for node in nodes:
            published(lab, node)
        yield SimpleNamespace(lab=lab, inventory=str(inventory), nodes=nodes, tmp=tmp,
                              second=second, source=gateway(str(lab.spec.subnet)))
    finally:
        # What later modules must not inherit: a publisher pushing this cut every period, a
        # floating address on the lab's difusores.
        lab.run(PUBLISHER, f"sudo systemctl stop {PUBLISHER_UNITS}; sudo rm -rf {drop}/{CUT}")
        for node in nodes:
            lab.run(node, "sudo systemctl stop keepalived")
            blank(lab, node)


def test_deploy_twice_changes_nothing(pair):
    assert pair.second.ok and pair.second.changed == 0, pair.second.output[-4000:]


def report(pair, ev, name) -> None:
    print(write(ev, pair.tmp / name, f"continuidad-{name}")["md"].read_text(), file=sys.stderr)


def test_ha_failover_is_recorded_and_met(pair):
    """keepalived stopped on the node holding the address: the other takes it within a
    period, estado.json is served over it, and the preferred node takes it back."""
    first, second = pair.nodes
    ev = failover(pair.inventory, second, pair.source, 90)
    report(pair, ev, "ha")
    fila = ev["fila"]
    assert fila["status"] == CUMPLE and fila["check"] == HA_CHECK, fila["detail"]
    assert ev["antes"] == [first] and ev["detenido"] == first
    moved = next(s for s in ev["muestras"] if s["titular"] == [second])
    assert moved["t"] < PERIOD_S
    assert ev["despues"] == [first] and ev["servido_despues"] == 200  # priority 150 preempts
    assert pair.lab.run(first, "systemctl is-active keepalived").stdout.strip() == "active"
    assert ev["segundos"] < 90


def test_link_cut_is_recorded_and_met(pair):
    """The publisher suspends the cut difusor, its watchdog raises the notice, the link comes
    back and the next push makes it fresh and active again."""
    node = pair.nodes[1]
    published(pair.lab, node)
    ev = linkcut.link_cut(pair.inventory, node, pair.source, None, cut_in_lab=node,
                          lab_name=pair.lab.name)
    report(pair, ev, "enlace")
    fila, o = ev["fila"], linkcut.observations(ev)
    assert fila["status"] == CUMPLE and fila["check"] == LINK_CHECK, fila["detail"]
    since, until = ev["corte"]["desde"], ev["corte"]["hasta"]
    stale = contract.stale_after_s(PERIOD_S)
    # Plausible numbers (samples come every 5-7 s while the difusor does not answer): the
    # publisher suspends after its 3 failed rounds, the notice shows after 3 periods without
    # anything fresh (not before 2: the last renewal came at most one period before the
    # cut); back, the next round (a period, and its push) makes it fresh and active.
    assert stale - PERIOD_S <= o["suspendido"] - since <= stale + 3 * PERIOD_S, o
    assert stale - PERIOD_S <= o["aviso_on"] - since <= stale + PERIOD_S, o
    hold = linkcut.hold_seconds(PERIOD_S)
    assert hold <= until - since <= hold + PERIOD_S + 15  # restored once suspended
    assert o["al_dia"] - until <= 3 * PERIOD_S and o["activo"] - until <= 3 * PERIOD_S, o
    assert ev["segundos"] < linkcut.least_seconds(PERIOD_S)  # it stopped once back, by itself
    assert "state UP" in pair.lab.run(node, "ip link show host0").stdout  # the link is back


def test_link_cut_without_the_watchdog_is_not_met(pair):
    """The same cut with the difusor's watchdog stopped: the publisher still suspends it,
    but no notice was shown, so the row says "no cumple" and why."""
    node = pair.nodes[1]
    published(pair.lab, node)
    pair.lab.run(node, "sudo systemctl stop prep-watchdog.service")
    try:
        ev = linkcut.link_cut(pair.inventory, node, pair.source, None, cut_in_lab=node,
                              lab_name=pair.lab.name)
    finally:
        pair.lab.run(node, "sudo systemctl start prep-watchdog.service")
    report(pair, ev, "enlace-sin-watchdog")
    fila, o = ev["fila"], linkcut.observations(ev)
    assert fila["status"] == NO_CUMPLE, fila["detail"]
    assert fila["detail"].startswith("el watchdog del difusor no levantó el aviso durante el "
                                     "corte (journal prep-watchdog sin «aviso ON»)"), fila
    assert o["suspendido"] is not None  # the publisher's side was seen all the same
    assert "state UP" in pair.lab.run(node, "ip link show host0").stdout
