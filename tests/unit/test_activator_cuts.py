"""The activator on a fake difusor: good cuts switch `current`, bad ones change nothing."""

import hashlib
import json
import os
from datetime import UTC, datetime, timedelta

import pytest
from test_activator_env import Env

from prep_iac import contract
from prep_iac.onhost import activator as act
from prep_iac.onhost import common, watchdog
from prep_iac.onhost.common import settings_json
from prep_iac.onhost.watchdog import WatchdogConfig

FIRST = {"index.html": b"<h1>corte 1</h1>", "datos/resultados.csv": b"a,b\n1,2\n",
         "actas/0001.jpg": b"\xff\xd8" + b"x" * 5000}
SECOND = {**FIRST, "index.html": b"<h1>corte 2</h1>", "actas/0002.jpg": b"\xff\xd8" + b"y" * 4000}


@pytest.fixture
def env(tmp_path):
    return Env(tmp_path)


def activate_first(env):
    env.upload(env.make_cut("20210606_2000_PREP", FIRST))
    assert env.run()
    assert env.current() == "cortes/20210606_2000_PREP"


def test_first_and_following_cut(env):
    activate_first(env)
    assert env.served_files() == FIRST
    estado = json.loads((env.root / "estado.json").read_text())
    assert estado["corte"] == "20210606_2000_PREP" and estado["estado"] == "publicando"
    assert estado["corte_fecha_hora"].startswith("2021-06-06T20:00:00")
    m = env.upload(env.make_cut("20210606_2010_PREP", SECOND))
    sent = {p.relative_to(env.incoming / m.cut_id).as_posix()
            for p in (env.incoming / m.cut_id).rglob("*") if p.is_file()}
    assert sent == {"index.html", "actas/0002.jpg"}  # only what changed
    assert env.run()
    assert env.current() == "cortes/20210606_2010_PREP"
    assert env.served_files() == SECOND
    old = env.root / "cortes/20210606_2000_PREP/datos/resultados.csv"
    new = env.root / "cortes/20210606_2010_PREP/datos/resultados.csv"
    assert os.stat(old).st_ino == os.stat(new).st_ino  # hard link, not a copy
    u = env.ultimo()
    assert u["resultado"] == "activado" and u["nuevos"] == 2 and u["solicitud"] == "nonce-1"
    jail_estado = json.loads((env.jail / "estado/estado.json").read_text())
    assert jail_estado["corte"] == m.cut_id
    # names the signed bytes it verified: the publisher's own copy is the next delta's base
    assert jail_estado["manifiesto_sha256"] == hashlib.sha256(m.to_bytes()).hexdigest()
    assert list(env.incoming.iterdir()) == []  # the upload is cleaned away


def test_only_the_new_files_and_the_folders_are_synced(env, monkeypatch):
    activate_first(env)
    env.upload(env.make_cut("20210606_2010_PREP", SECOND))
    synced = []
    real = act.fsync_path
    monkeypatch.setattr(act, "fsync_path", lambda p: (synced.append(p), real(p)))
    assert env.run()
    staging = str(env.root / "cortes/.tmp-20210606_2010_PREP")
    got = sorted(os.path.relpath(p, staging) for p in synced)
    # the two files this cut brought, then every folder of the tree; not the reused files
    assert got == sorted(["index.html", "actas/0002.jpg", "actas", "datos", "."])
    assert synced[-1] == staging  # the top folder last, after what is in it


def refused(env, reason):
    assert env.run() is False
    assert env.current() == "cortes/20210606_2000_PREP"
    assert env.served_files() == FIRST
    u = env.ultimo()
    assert u["resultado"] == "rechazado"
    assert reason in u["motivo"], u["motivo"]
    assert list(env.incoming.iterdir()) == []
    assert not [p for p in (env.root / "cortes").iterdir() if p.name.startswith(".tmp")]


def test_unsigned(env):
    activate_first(env)
    env.upload(env.make_cut("20210606_2010_PREP", SECOND), sign=False)
    refused(env, "unsigned")


def test_wrong_signer(env):
    activate_first(env)
    env.upload(env.make_cut("20210606_2010_PREP", SECOND), key=env.other_key)
    refused(env, "bad signature")


def test_signature_of_another_manifest(env):
    activate_first(env)
    m = env.upload(env.make_cut("20210606_2010_PREP", SECOND))
    p = env.incoming / f"{m.cut_id}.manifiesto.json"
    p.write_bytes(p.read_bytes().replace(b"20:10", b"20:11"))  # changed after signing
    refused(env, "bad signature")


def test_hash_differs(env):
    activate_first(env)
    m = env.upload(env.make_cut("20210606_2010_PREP", SECOND))
    (env.incoming / m.cut_id / "index.html").write_bytes(b"<h1>corte X</h1>")  # same size
    refused(env, "hash mismatch")


def test_size_differs(env):
    activate_first(env)
    m = env.upload(env.make_cut("20210606_2010_PREP", SECOND))
    (env.incoming / m.cut_id / "index.html").write_bytes(b"<h1>otro corte mas</h1>")
    refused(env, "bytes")


def test_missing_file(env):
    activate_first(env)
    m = env.upload(env.make_cut("20210606_2010_PREP", SECOND))
    (env.incoming / m.cut_id / "actas/0002.jpg").unlink()
    refused(env, "missing file 'actas/0002.jpg'")


@pytest.mark.parametrize("bad, reason", [("../../etc/cron.d/x", "leaves"),
                                         ("/etc/passwd", "absolute"),
                                         ("a/./b", "leaves"), ("", "invalid")])
def test_bad_paths(env, bad, reason):
    activate_first(env)

    def evil(doc):
        doc["archivos"][0]["ruta"] = bad
    env.upload(env.make_cut("20210606_2010_PREP", SECOND), mutate=evil)
    refused(env, reason)


def test_symlink_to_shadow(env):
    activate_first(env)
    m = env.upload(env.make_cut("20210606_2010_PREP", SECOND))
    target = env.incoming / m.cut_id / "index.html"
    target.unlink()
    target.symlink_to("/etc/shadow")
    refused(env, "symlink")


def test_symlinked_folder(env):
    activate_first(env)
    m = env.upload(env.make_cut("20210606_2010_PREP", SECOND))
    actas = env.incoming / m.cut_id / "actas"
    (actas / "0002.jpg").unlink()
    actas.rmdir()
    actas.symlink_to("/etc")
    refused(env, "symlink")


def test_hard_link(env):
    activate_first(env)
    m = env.upload(env.make_cut("20210606_2010_PREP", SECOND))
    target = env.incoming / m.cut_id / "index.html"
    outside = env.tmp / "secreto"
    outside.write_bytes(target.read_bytes())
    target.unlink()
    os.link(outside, target)
    refused(env, "hard link")


def test_device(env):
    activate_first(env)
    m = env.upload(env.make_cut("20210606_2010_PREP", SECOND))
    target = env.incoming / m.cut_id / "index.html"
    target.unlink()
    os.mkfifo(target)
    refused(env, "not a regular file")


def test_oversized_cut(env):
    activate_first(env)
    env.set(max_bytes=6000)
    env.upload(env.make_cut("20210606_2010_PREP", SECOND))
    refused(env, "too large")


def test_too_many_files(env):
    activate_first(env)
    env.set(max_files=3)
    env.upload(env.make_cut("20210606_2010_PREP", SECOND))
    refused(env, "too many files")


def test_full_disk(env):
    activate_first(env)
    env.set(reserve_bytes=1 << 60)  # more than any disk has free
    env.upload(env.make_cut("20210606_2010_PREP", SECOND))
    refused(env, "disk full")


def test_older_cut_replayed(env):
    env.upload(env.make_cut("20210606_2100_PREP", FIRST))
    assert env.run()
    env.upload(env.make_cut("20210606_2000_PREP", SECOND))
    assert env.run() is False
    assert env.current() == "cortes/20210606_2100_PREP"
    assert "older" in env.ultimo()["motivo"]


def test_manifest_for_another_cut(env):
    activate_first(env)

    def rename(doc):
        doc["corte"] = "20210606_2020_PREP"
    env.upload(env.make_cut("20210606_2010_PREP", SECOND), mutate=rename)
    refused(env, "manifest is for cut")


def test_incomplete_upload_waits_then_is_swept(env):
    activate_first(env)
    m = env.upload(env.make_cut("20210606_2010_PREP", SECOND), marker=False)
    assert env.run() is True  # nothing complete: nothing done
    assert env.current() == "cortes/20210606_2000_PREP"
    assert (env.incoming / m.cut_id).exists()
    act.sweep(env.cfg, now=os.stat(env.incoming / m.cut_id).st_mtime + 3600)
    assert list(env.incoming.iterdir()) == []
    assert "incomplete upload" in env.ultimo()["motivo"]
    assert env.current() == "cortes/20210606_2000_PREP"


def test_a_marker_still_being_written_is_left_alone(env):
    """The push writes `.<cut>.listo` and renames it once complete; an activator run in
    between (another cut's, or the sweep) must neither take nor delete it."""
    activate_first(env)
    m = env.upload(env.make_cut("20210606_2010_PREP", SECOND), marker=False)
    writing = env.incoming / f".{m.cut_id}.listo"
    writing.write_text("nonce-2\n")
    assert env.run(sweep=True) is True
    assert writing.exists() and env.current() == "cortes/20210606_2000_PREP"
    writing.rename(env.incoming / f"{m.cut_id}.listo")
    assert env.run() and env.current() == "cortes/20210606_2010_PREP"


def test_same_cut_twice_is_confirmed(env):
    activate_first(env)
    served = json.loads((env.root / "estado.json").read_text())["manifiesto_sha256"]
    env.upload(env.make_cut("20210606_2000_PREP", FIRST), full=True,
               mutate=lambda doc: doc.update(fecha_hora=doc["fecha_hora"]))  # re-serialized
    assert env.run()
    assert env.ultimo()["resultado"] == "activado"
    # the served cut is still described by the manifest it was built from
    assert json.loads((env.root / "estado.json").read_text())["manifiesto_sha256"] == served


def test_prune_keeps_k(env):
    for i in range(6):
        env.upload(env.make_cut(f"20210606_20{i}0_PREP", {**FIRST, "i": str(i).encode()}))
        assert env.run()
    kept = sorted(p.name for p in (env.root / "cortes").iterdir())
    assert len(kept) == 3 and "20210606_2050_PREP" in kept
    assert env.served_files()["i"] == b"5"


def watchdog_here(env, tmp_path, monkeypatch, state):
    """The watchdog's config, state folder and journal on the fake difusor, its record and
    flag showing `state` (as the resident watchdog left them); the window open now."""
    state_dir = tmp_path / "watchdog"
    state_dir.mkdir()
    (state_dir / "estado").write_text(state + "\n")
    if state in contract.NOTICE_FLAGS:
        (state_dir / state).touch()
    notice = tmp_path / "aviso.html"
    notice.write_text("aviso $corte")
    now = datetime.now(UTC)
    cfg = WatchdogConfig(opens=(now - timedelta(hours=1)).isoformat(),
                         closes=(now + timedelta(hours=1)).isoformat(),
                         official_url="https://prep.example/", period_s=600,
                         prep_root=str(env.root), state_dir=str(state_dir),
                         notice_template=str(notice))
    path = tmp_path / "watchdog.json"
    path.write_text(settings_json(cfg))
    env.set(watchdog_config=str(path))
    monkeypatch.setattr(common, "JOURNAL_SOCKET", str(tmp_path / "no-journal"))
    return state_dir


@pytest.mark.parametrize("before", [contract.NOTICE, contract.NOT_OPEN, contract.PUBLISHING])
def test_the_watchdog_pass_is_made_before_the_iec_hears_activated(env, tmp_path, monkeypatch,
                                                                  capsys, before):
    """The activator makes the watchdog's pass itself, before it writes ultimo.json: a
    notice or not-open page is off when the IEC hears "activated", so the answer means what
    it says. The switch is logged as the watchdog's."""
    activate_first(env)
    state_dir = watchdog_here(env, tmp_path, monkeypatch, before)
    seen = []
    real = watchdog.refresh

    def refresh(path):
        ultimo = env.jail / "estado" / "ultimo.json"
        seen.append("20210606_2010_PREP" in ultimo.read_text())
        return real(path)

    monkeypatch.setattr(watchdog, "refresh", refresh)
    env.upload(env.make_cut("20210606_2010_PREP", SECOND))
    assert env.run()
    assert seen == [False]  # once, and before the result was out
    assert not any((state_dir / flag).exists() for flag in contract.NOTICE_FLAGS)
    assert (state_dir / "estado").read_text().strip() == contract.PUBLISHING
    lines = [line for line in capsys.readouterr().out.splitlines()
             if line.startswith(f"{contract.JOURNAL_WATCHDOG}: ")]
    switched = before != contract.PUBLISHING
    assert len(lines) == switched
    if before == contract.NOTICE:
        assert lines[0].startswith("prep-watchdog: aviso OFF: cut 20210606_2010_PREP fresh")


def test_without_a_watchdog_config_the_cut_is_served_all_the_same(env, tmp_path):
    env.set(watchdog_config=str(tmp_path / "absent.json"))
    activate_first(env)
    (tmp_path / "broken.json").write_text("{")
    env.set(watchdog_config=str(tmp_path / "broken.json"))
    env.upload(env.make_cut("20210606_2010_PREP", SECOND))
    assert env.run() and env.current() == "cortes/20210606_2010_PREP"
    assert env.ultimo()["resultado"] == contract.ACTIVATED
