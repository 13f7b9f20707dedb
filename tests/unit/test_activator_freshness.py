"""Issue 16 on the activator: signed freshness, never arrival. A difusor accepts its own
process only, a higher sequence only, drill material only before the PREP opens; a replay
changes nothing (not even `activado`); a heartbeat renews the served cut; a correction with
the same cut id is served; the first production cut starts a fresh history."""

import json
import shutil
from datetime import UTC, datetime

import pytest
from test_activator_cuts import FIRST, SECOND
from test_activator_env import Env

from prep_iac import contract
from prep_iac.onhost import activator as act

C1, C2 = "20210606_2000_PREP", "20210606_2010_PREP"


@pytest.fixture
def env(tmp_path):
    return Env(tmp_path)


def served(env):
    m = env.upload(env.make_cut(C1, FIRST))
    assert env.run(), env.ultimo()
    return m


def assert_refused_unchanged(env, before, reason):
    """Refused with `reason`; estado.json (activado, secuencia…) and the tree as they were."""
    assert env.run() is False
    u = env.ultimo()
    assert u["resultado"] == "rechazado" and reason in u["motivo"], u["motivo"]
    assert env.estado() == before
    assert list(env.incoming.iterdir()) == []


def replay(env, saved):
    """Put saved jail files (manifest, signature, marker, files) back, as an attacker with
    the jail's key would."""
    for path, data in saved.items():
        dst = env.incoming / path
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(data)


def snapshot(env):
    return {p.relative_to(env.incoming).as_posix(): p.read_bytes()
            for p in env.incoming.rglob("*") if p.is_file()}


def test_a_replay_of_the_served_cut_changes_nothing_not_even_activado(env):
    env.upload(env.make_cut(C1, FIRST))
    saved = snapshot(env)
    assert env.run()
    before = env.estado()
    replay(env, saved)
    assert_refused_unchanged(env, before, "not newer than what is served")


def test_an_older_cut_with_a_lower_sequence_is_refused(env):
    old = env.stamp()
    served(env)
    before = env.estado()
    env.upload(env.make_cut(C2, SECOND), stamp=old)
    assert_refused_unchanged(env, before, "secuencia 1 <= 2")


@pytest.mark.parametrize("process", ["otra-eleccion-2024", "prueba-2021-simulacro"])
def test_another_process_is_refused(env, process):
    served(env)
    before = env.estado()
    env.upload(env.make_cut(C2, SECOND), stamp=env.stamp(proceso=process))
    assert_refused_unchanged(env, before, f"process {process!r}")


def test_a_difusor_with_no_cut_refuses_a_foreign_process_too(env):
    env.upload(env.make_cut(C1, FIRST), stamp=env.stamp(proceso="otra-eleccion-2024"))
    assert env.run() is False and env.current() is None
    assert "this difusor publishes 'prueba-2021'" in env.ultimo()["motivo"]


def test_a_difusor_without_a_configured_process_refuses_everything(env):
    env.set(process="")
    env.upload(env.make_cut(C1, FIRST))
    assert env.run() is False and env.current() is None
    assert "no electoral process" in env.ultimo()["motivo"]


def test_drill_material_only_before_the_opening_and_never_after_production(env):
    env.set(prep_opens="2099-06-06T18:00:00-05:00")  # the drill stage
    env.upload(env.make_cut(C1, FIRST), stamp=env.stamp(modo=contract.DRILL))
    assert env.run(), env.ultimo()
    assert env.estado()["modo"] == "simulacro"
    assert env.estado()["proceso"] == "prueba-2021-simulacro"
    # the first production cut (a lower sequence: another signer's counter) starts afresh
    env.upload(env.make_cut(C2, SECOND), stamp=env.stamp(secuencia=1))
    assert env.run(), env.ultimo()
    assert env.estado()["modo"] == "produccion"
    assert sorted(p.name for p in (env.root / "cortes").iterdir()) == [C2]  # drill gone
    before = env.estado()
    env.upload(env.make_cut("20210606_2020_PREP", FIRST), stamp=env.stamp(modo=contract.DRILL))
    assert_refused_unchanged(env, before, "drill material after production material")


def test_drill_material_after_the_opening_is_refused(env):
    env.upload(env.make_cut(C1, FIRST), stamp=env.stamp(modo=contract.DRILL))
    assert env.run() is False and env.current() is None
    assert "drill material after the PREP opened" in env.ultimo()["motivo"]


def test_a_manifest_without_its_stamp_is_refused_and_the_served_cut_stays(env):
    served(env)
    before = env.estado()
    env.upload(env.make_cut(C2, SECOND), mutate=lambda doc: doc.pop("secuencia"))
    assert_refused_unchanged(env, before, "secuencia")
    assert env.current() == f"cortes/{C1}"


def test_a_heartbeat_renews_the_served_cut_and_changes_no_file(env):
    m = served(env)
    before = env.estado()
    tree = env.served_files()
    env.heartbeat(m, stamp=env.stamp(emitido="2031-01-01T00:00:00+00:00"))
    assert env.run(), env.ultimo()
    after = env.estado()
    assert after["secuencia"] == before["secuencia"] + 1
    assert after["emitido"] == "2031-01-01T00:00:00+00:00"
    assert after["activado"] >= before["activado"]
    assert {k: after[k] for k in ("corte", "contenido_sha256", "manifiesto_sha256")} == \
        {k: before[k] for k in ("corte", "contenido_sha256", "manifiesto_sha256")}
    assert env.served_files() == tree and env.current() == f"cortes/{C1}"
    u = env.ultimo()
    assert (u["resultado"], u["tipo"], u["nuevos"]) == ("activado", "renovacion", 0)
    # the heartbeat itself, replayed, is refused
    env.heartbeat(m, stamp={**env.stamp(), "secuencia": after["secuencia"]})
    assert_refused_unchanged(env, after, "not newer")


def test_a_heartbeat_for_content_not_served_is_refused(env):
    m = served(env)
    before = env.estado()
    env.heartbeat(env.build(env.make_cut(C2, SECOND)))
    assert_refused_unchanged(env, before, f"but this difusor serves {m.cut_id}")


def test_a_same_id_correction_is_served_and_reported(env):
    served(env)
    fixed = {**FIRST, "index.html": b"<h1>corte 1, corregido</h1>"}
    folder = env.tmp / "fixed" / C1
    for rel, data in fixed.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
    env.upload(folder)
    assert env.run(), env.ultimo()
    assert env.served_files() == fixed
    assert env.current() == f"cortes/{C1}+{env.sequence}"
    assert env.ultimo()["tipo"] == "correccion"
    assert env.estado()["corte"] == C1
    # and the correction's own replay changes nothing
    before = env.estado()
    saved_seq = env.sequence
    env.upload(folder, stamp={**env.stamp(), "secuencia": saved_seq})
    assert_refused_unchanged(env, before, "not newer")


def test_the_final_cut_is_concluido(env):
    env.upload(env.make_cut(C1, FIRST), stamp=env.stamp(final=True))
    assert env.run()
    assert env.estado()["final"] is True and env.estado()["estado"] == "concluido"
    assert env.ultimo()["final"] is True


def test_estado_says_what_was_signed(env):
    m = served(env)
    e = env.estado()
    assert set(e) == set(contract.ESTADO_KEYS)
    assert e["contenido_sha256"] == contract.content_sha256(
        json.loads(m.to_bytes())["archivos"])
    assert datetime.fromisoformat(e["emitido"]).tzinfo is not None
    assert e["proceso"] == "prueba-2021" and e["secuencia"] == env.sequence
    assert act.cut_of_dir(f"{C1}+12") == C1
    assert datetime.fromisoformat(e["activado"]) <= datetime.now(UTC)


def test_a_stale_jail_copy_heals_after_one_refusal(env):
    """The served tree lost behind the activator's back (a disk replaced, a manual wipe)
    while the jail still names it: the publisher's delta against it is refused once, the
    jail's copies are made true, and the next push, whole, is served."""
    served(env)
    for path in ("current", "estado.json"):
        (env.root / path).unlink()
    shutil.rmtree(env.root / "cortes")
    shutil.rmtree(env.tmp / "state" / "manifiestos")
    assert env.served_manifest() is not None  # the jail still names the old cut
    env.upload(env.make_cut(C2, SECOND))  # a delta: only what the old cut lacked
    assert env.run() is False and "missing file" in env.ultimo()["motivo"]
    assert env.served_manifest() is None
    assert not (env.jail / "estado" / "estado.json").exists()
    env.upload(env.make_cut(C2, SECOND))  # now whole
    assert env.run(), env.ultimo()
    assert env.served_files() == SECOND
