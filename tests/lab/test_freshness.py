"""Issue 16 on lab hosts: signed freshness, never arrival; the PREP's close; drill material.

Every difusor runs the whole deploys/difusor.py with a 5-second period, so "more than three
periods" takes seconds. The publisher's side is the push engine run from here (the lab
publisher's own service is paused so that it sends nothing in between), with its ledger in
a temporary folder.

    PREP_LAB_NAME=fresh PREP_LAB_SUBNET=10.86.0.0/24 .venv/bin/pytest -m lab \
        tests/lab/test_freshness.py
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "pipeline"))
from helpers import Jail, blank, current, local_digests, make_cut, served_digests, sh, site

from prep_iac import contract
from prep_iac.inventory import load_inventory
from prep_iac.lab import ca as lab_ca
from prep_iac.onhost.publisher.ledger import Ledger
from prep_iac.onhost.publisher.push import LAST_RESULT, read_json, send_signed, wait_result
from prep_iac.onhost.publisher.run import prepare, publish
from prep_iac.publish.registry import from_inventory
from prep_iac.simulacro.http import Client, Target
from prep_iac.simulacro.setup import write_inventory

pytestmark = pytest.mark.lab
PERIOD = 5
STALE_S = contract.stale_after_s(PERIOD)
A, B, C, D = (f"20210606_20{m}0_PREP_AYUN_COAH" for m in range(4))
PUBLISHER_UNITS = "prep-publisher.timer prep-publisher.path"
DRILL_STAGE = {"prep_opens": "2999-06-06T18:00:00-05:00"}  # a publisher before the opening


def with_period(lab, out: Path, **calendar) -> Path:
    """The lab inventory with a PERIOD-second period and, optionally, calendar changes."""
    inv = load_inventory(lab.inventory_path)
    iec = inv.iec.with_changes(period_s=PERIOD)
    if calendar:
        iec = iec.with_changes(calendar=iec.calendar.with_changes(**calendar))
    path = out / "inventario.yml"
    write_inventory(path, inv.with_changes(iec=iec), "# tests/lab/test_freshness.py")
    lab_ca.share_ca(lab.inventory_path, path)
    return path


def deployed(lab, inventory: Path, limit: str | None = None) -> None:
    from prep_iac.pyinfra_run import run_deploy

    result = run_deploy(inventory, "deploys/difusor.py", limit=limit or "difusores")
    assert result.ok, result.output[-4000:]


@pytest.fixture(scope="module")
def fresh(lab, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fresh")
    inventory = with_period(lab, tmp)
    deployed(lab, inventory)
    sh(lab, "publisher-1", f"sudo systemctl stop {PUBLISHER_UNITS}", check=False)
    registry = dataclasses.replace(from_inventory(load_inventory(inventory)), period_s=PERIOD)
    ca = str(lab_ca.ca_dir(lab.inventory_path) / "ca.pem")
    targets = {d.name: Target(d.name, f"https://{d.address}/", ca) for d in registry.difusores}
    state = SimpleNamespace(lab=lab, dir=tmp, inventory=inventory, registry=registry,
                            ledger=Ledger(tmp / "ledger.sqlite", PERIOD), targets=targets,
                            signed={})
    try:
        yield state
    finally:
        state.ledger.close()
        # Back to the lab's own inventory for the modules after this one, and to blank
        # difusores: the final cut here would refuse every later module's cuts.
        for d in registry.difusores:
            blank(lab, d.name)
        deployed(lab, lab.inventory_path)
        sh(lab, "publisher-1", f"sudo systemctl start {PUBLISHER_UNITS}", check=False)


def only(registry, *names, **changes):
    return dataclasses.replace(registry, difusores=tuple(
        d for d in registry.difusores if not names or d.name in names), **changes)


def push(state, folder, registry=None, final=False):
    registry = registry or state.registry
    signed = prepare(folder, folder.name, registry, final=final, sequence_dir=state.dir)
    state.signed[folder.name] = signed
    results = publish(registry, signed, state.ledger, timeout=5.0, activation_timeout=30.0)
    return {r.difusor: r for r in results}


def estado(state, name) -> dict:
    return json.loads(sh(state.lab, name, "cat /srv/prep/estado.json"))


def send(state, name, cut_id, data, signature) -> tuple[str, str | None]:
    """Put a signed document and its marker in the jail, as anyone with the jail key can."""
    jail = Jail(state.registry, name)
    try:
        last = read_json(jail.sftp, LAST_RESULT) or {}
        nonce, _ = send_signed(jail.sftp, cut_id, data, signature)
        return wait_result(jail.sftp, cut_id, nonce, last, 30.0)
    finally:
        jail.close()


def page(state, name, path="/"):
    client = Client(state.targets[name], timeout=5)
    try:
        return client.get(path)
    finally:
        client.close()


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"{what}: not within {timeout} s")


def test_drill_material_is_never_visible_after_the_opening(fresh):
    """A blank difusor in the drill stage takes a drill cut but shows the not-open page;
    once the PREP opens the drill cut is still no cut, and the first production cut
    replaces it and deletes every drill tree."""
    lab, name = fresh.lab, "difusor-3"
    blank(lab, name)
    tz = load_inventory(fresh.inventory).iec.calendar.timezone
    from zoneinfo import ZoneInfo

    opens = dt.datetime.now(ZoneInfo(tz)).replace(microsecond=0) + dt.timedelta(seconds=75)
    drill_stage = with_period(lab, fresh.dir / "etapa-simulacros",
                              prep_opens=opens.strftime("%Y-%m-%d %H:%M:%S"),
                              prep_closes=(opens + dt.timedelta(hours=23)).strftime(
                                  "%Y-%m-%d %H:%M:%S"))
    deployed(lab, drill_stage, limit=name)
    drill = make_cut(fresh.dir / "simulacro", A, site(seed=b"S"))
    r = push(fresh, drill, only(fresh.registry, name, **DRILL_STAGE))[name]
    assert r.result == "activated", r
    assert estado(fresh, name)["modo"] == contract.DRILL
    assert estado(fresh, name)["proceso"] == contract.drill_process(fresh.registry.process)
    before = page(fresh, name)
    assert before.status == 503 and b"PREP S" not in before.body
    wait_for(lambda: time.time() > opens.timestamp() + 3, 120, "the opening")
    after = page(fresh, name)
    assert after.status == 503 and b"PREP S" not in after.body
    assert estado(fresh, name)["estado"] == contract.NOT_OPEN
    # Production: accepted whatever the drill's sequence was; the drill's tree is deleted.
    real = make_cut(fresh.dir / "produccion", B, site(seed=b"P"))
    r = push(fresh, real, only(fresh.registry, name))[name]
    assert r.result == "activated", r
    wait_for(lambda: page(fresh, name).status == 200, 30, "the first production cut served")
    assert b"PREP P" in page(fresh, name).body
    assert sh(lab, name, "ls /srv/prep/cortes").split() == [B]
    # And drill material after production is refused.
    r = push(fresh, drill, only(fresh.registry, name, **DRILL_STAGE))[name]
    assert r.result == "refused" and "drill material after" in r.reason, r
    deployed(lab, fresh.inventory, limit=name)  # back to the open calendar


def test_a_repeated_cut_is_a_heartbeat_that_renews_without_files(fresh):
    folder = make_cut(fresh.dir, C, site(seed=b"1"))
    first = push(fresh, folder)
    assert all(r.result == "activated" for r in first.values()), first
    before = {n: estado(fresh, n) for n in first}
    again = push(fresh, folder)
    for name, r in again.items():
        assert r.result == "activated" and r.sent_files == 0 and r.sent_bytes < 4096, r
        after = estado(fresh, name)
        assert after["secuencia"] > before[name]["secuencia"]
        assert after["activado"] > before[name]["activado"]
        assert after["contenido_sha256"] == before[name]["contenido_sha256"]
        assert current(fresh.lab, name) == f"cortes/{C}"
        assert f"renewed {C}" in sh(fresh.lab, name, "sudo journalctl -q -t prep-activator "
                                                     "--since=-2min --no-pager -o cat")


def test_replays_and_foreign_material_are_refused_and_change_nothing(fresh):
    name = "difusor-1"
    older = prepare(make_cut(fresh.dir / "viejo", A, site(seed=b"0")), A, fresh.registry,
                    sequence_dir=fresh.dir)  # signed, held back, then overtaken
    r = push(fresh, make_cut(fresh.dir, C, site(seed=b"1")))[name]  # a heartbeat: served
    assert r.result == "activated", r
    accepted = fresh.signed[C]
    before = estado(fresh, name)
    cases = {
        "the served cut's heartbeat, replayed": (C, accepted.heartbeat,
                                                 accepted.heartbeat_signature, "not newer"),
        "its manifest, same stamp": (C, accepted.data, accepted.signature, "not newer"),
        "an older cut": (A, older.data, older.signature, "not newer"),
    }
    for what, (cut_id, data, signature, reason) in cases.items():
        result, why = send(fresh, name, cut_id, data, signature)
        assert result == "refused" and reason in why, (what, why)
        assert estado(fresh, name) == before, what
    other = push(fresh, make_cut(fresh.dir / "otro", B, site(seed=b"2")),
                 only(fresh.registry, name, process="otra-eleccion-2024"))[name]
    assert other.result == "refused" and "material of process" in other.reason, other
    drill = push(fresh, make_cut(fresh.dir / "simulacro", B, site(seed=b"S")),
                 only(fresh.registry, name, **DRILL_STAGE))[name]
    assert drill.result == "refused" and "drill material after the PREP opened" in \
        drill.reason, drill
    assert estado(fresh, name) == before
    assert current(fresh.lab, name) == f"cortes/{C}"


def test_a_same_id_correction_is_served(fresh):
    name = "difusor-1"
    files = {**site(seed=b"1"), "index.html": b"<h1>PREP 1, corregido</h1>"}
    folder = make_cut(fresh.dir / "correccion", C, files)
    r = push(fresh, folder, only(fresh.registry, name))[name]
    assert r.result == "activated" and r.sent_files == 1, r
    assert current(fresh.lab, name) == f"cortes/{C}+{fresh.signed[C].manifest.stamp['secuencia']}"
    assert served_digests(fresh.lab, name) == local_digests(folder)
    assert Jail(fresh.registry, name).ultimo()["tipo"] == "correccion"
    assert b"corregido" in page(fresh, name, "/index.html").body


def test_a_frozen_site_shows_the_notice_however_often_the_cut_is_resent(fresh):
    """The jail re-sends the last accepted document every period; nothing new is signed.
    Each copy is refused, and after three periods the notice is up."""
    name = "difusor-2"
    r = push(fresh, make_cut(fresh.dir, C, site(seed=b"1")), only(fresh.registry, name))[name]
    assert r.result == "activated", r
    accepted = fresh.signed[C]
    frozen_at = time.time()
    refusals = []
    while time.time() < frozen_at + STALE_S + 2 * PERIOD:
        refusals.append(send(fresh, name, C, accepted.heartbeat, accepted.heartbeat_signature))
        time.sleep(PERIOD)
    assert len(refusals) > contract.MISSED_PERIODS
    assert all(result == "refused" and "not newer" in why for result, why in refusals), refusals
    assert estado(fresh, name)["estado"] == contract.NOTICE
    assert page(fresh, name).status == 503
    # a fresh signature of the same cut (the publisher's heartbeat) lifts it at once
    r = push(fresh, make_cut(fresh.dir, C, site(seed=b"1")), only(fresh.registry, name))[name]
    assert r.result == "activated", r
    assert page(fresh, name).status == 200


def test_the_final_cut_stays_up_marked_final_after_three_periods(fresh):
    folder = make_cut(fresh.dir / "final", D, site(seed=b"F"))
    results = push(fresh, folder, final=True)
    assert all(r.result == "activated" for r in results.values()), results
    time.sleep(STALE_S + 2 * PERIOD)  # more than three periods without anything new
    for name in results:
        e = estado(fresh, name)
        assert (e["corte"], e["estado"], e["final"]) == (D, contract.CONCLUDED, True), e
        served = page(fresh, name)
        assert served.status == 200 and b"PREP F" in served.body
        assert fresh.ledger.state(name) == "concluded"
    status = subprocess.run(
        [str(Path(sys.executable).with_name("prep-iac")), "status", "-i", str(fresh.inventory),
         "--ledger", str(fresh.dir / "ledger.sqlite"), "--json"],
        capture_output=True, text=True, timeout=60, check=False)
    assert status.returncode == 0, status.stderr
    rows = {r["difusor"]: r for r in json.loads(status.stdout)}
    assert {r["state"] for r in rows.values()} == {"concluded"}
    assert {r["confirmed_cut"] for r in rows.values()} == {D}
    name = "difusor-1"
    audit = subprocess.run(
        [str(Path(sys.executable).with_name("prep-iac")), "audit",
         fresh.targets[name].base_url, "-i", str(fresh.inventory), "--ca-file",
         fresh.targets[name].ca_file, "--out", str(fresh.dir / "audit"),
         # A working run: this test asks about the cut after the close, and no "no cumple";
         # the paperwork a strict run owes (I.4, I.8, the manifest…) is another test's.
         "--no-estricto"],
        capture_output=True, text=True, timeout=300, check=False)
    assert audit.returncode == 0, audit.stdout[-3000:] + audit.stderr[-2000:]
    report = json.loads((fresh.dir / "audit" / "conformance.json").read_text())
    vigente = next(c for c in report["comprobaciones"] if c["check"] == "audit::corte_vigente")
    assert vigente["status"] == "cumple" and "PREP concluido" in vigente["detail"], vigente
