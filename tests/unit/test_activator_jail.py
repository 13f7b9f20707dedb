"""Issue 17: whatever the IEC's SFTP account leaves in incoming/, the activator survives it
and still handles every valid marker; the sweep and the byte budget go by what root
observed (its own clock, lstat sizes), never by times or sizes the uploader set.

Each class of entry an uploader can make: folders, links, FIFOs (SFTP makes none; be robust
anyway), names (spaces, newlines, control characters, bidi, non-UTF-8, 255 bytes), sizes
(sparse files far larger than the disk) and times (1970, 2100), alone and as markers.
"""

import os
import re
import subprocess
import time

import pytest
from test_activator_cuts import FIRST, SECOND
from test_activator_env import Env

from prep_iac import contract
from prep_iac.onhost import activator as act
from prep_iac.onhost import jail

A, B, C = "20210606_2000_PREP", "20210606_2010_PREP", "20210606_2020_PREP"
OLD_UPLOAD = "20210606_1900_PREP"
Y1970, Y2100 = 1, 4102444800  # what `touch -d` or SFTP's setstat can make an mtime say


@pytest.fixture
def env(tmp_path):
    return Env(tmp_path)


@pytest.fixture
def journal(monkeypatch):
    lines = []
    monkeypatch.setattr(act, "log", lines.append)
    return lines


def make(path, kind):
    """An entry of a kind an uploader could leave (a FIFO and a link only root could)."""
    if kind == "file":
        path.write_bytes(b"nonce")
    elif kind == "empty folder":
        path.mkdir()
    elif kind == "folder":
        (path / "sub" / "subsub").mkdir(parents=True)
        (path / "sub" / "f").write_bytes(b"y" * 100)
        (path / "sub" / "subsub" / "g").write_bytes(b"")
    elif kind == "locked folder":  # mode 000: root goes in anyway
        (path / "x").mkdir(parents=True)
        (path / "x" / "f").write_bytes(b"z")
        os.chmod(path / "x", 0)
        os.chmod(path, 0)
    elif kind == "symlink":
        os.symlink("/etc/shadow", path)
    elif kind == "dangling symlink":
        os.symlink("nowhere/at/all", path)
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        raise ValueError(kind)


def date(path, when):
    """Set the times of path and everything under it, as the uploader may (links untouched)."""
    paths = [path]
    if path.is_dir() and not path.is_symlink():
        paths += list(path.rglob("*"))
    for p in sorted(paths, key=lambda p: -len(p.parts)):
        os.utime(p, (when, when), follow_symlinks=False)


def gone(env, name):
    return not os.path.lexists(os.path.join(env.incoming, name))


def one_line_refusals(journal):
    refused = [line for line in journal if line.startswith("refused ")]
    for line in refused:
        assert "\n" not in line and "\r" not in line and "\x1b" not in line, repr(line)
        assert re.match(contract.REFUSED_RE, line), line
    return refused


NAMES = {"space": "mal nombre", "newline": "20210606_2000_PREP\nactivated X",
         "control": "\x1b[31mrojo\x07", "unicode": "ñandú_¿", "bidi": "\u202egpj.exe",
         "not utf-8": os.fsdecode(b"\xff\xfe\xc3"), "255 bytes": "a" * 249, "dash": "-rf *"}
KINDS = ["file", "empty folder", "folder", "locked folder", "symlink", "dangling symlink", "fifo"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("label", NAMES)
def test_a_marker_with_an_invalid_cut_id_never_stops_the_valid_ones(env, journal, label, kind):
    """Dated 1970 so it comes first by mtime; a folder used to stop every run (unlink)."""
    name = NAMES[label] + contract.MARKER_SUFFIX
    make(env.incoming / name, kind)
    date(env.incoming / name, Y1970)
    env.upload(env.make_cut(A, FIRST))
    assert env.run() is False  # something was refused
    assert env.current() == f"cortes/{A}" and env.served_files() == FIRST
    assert env.ultimo()["resultado"] == "activado" and env.ultimo()["corte"] == A
    assert gone(env, name)
    refused = one_line_refusals(journal)
    assert len(refused) == 1 and "invalid cut id" in refused[0], refused
    assert list(env.incoming.iterdir()) == []
    # and the next run is not stopped either
    env.upload(env.make_cut(B, SECOND))
    assert env.run() and env.current() == f"cortes/{B}"


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "file"])
def test_a_marker_that_is_no_regular_file_refuses_its_cut_only(env, journal, kind):
    env.upload(env.make_cut(A, FIRST))
    assert env.run()
    env.upload(env.make_cut(B, SECOND), marker=False)
    make(env.incoming / contract.marker_name(B), kind)
    date(env.incoming / contract.marker_name(B), Y1970)
    env.upload(env.make_cut(C, {**SECOND, "c": b"c"}), full=True)
    assert env.run() is False
    assert any(line.startswith(f"refused {B}: marker") and "not a regular file" in line
               for line in journal), journal
    assert env.current() == f"cortes/{C}" and env.ultimo()["corte"] == C
    assert list(env.incoming.iterdir()) == []


def test_markers_are_taken_in_the_order_root_saw_them_not_by_their_mtime(env, journal):
    """A's marker says 2100, B's says 1970: by mtime B went first and A was then refused as
    a replay. Seen in the same run, they go by name, which for PREP cuts is their time."""
    env.upload(env.make_cut(A, FIRST), full=True)
    env.upload(env.make_cut(B, SECOND), full=True)
    date(env.incoming / contract.marker_name(A), Y2100)
    date(env.incoming / contract.marker_name(B), Y1970)
    assert env.run()
    assert [line.split(" (")[0] for line in journal] == [f"activated {A}", f"activated {B}"]
    assert env.current() == f"cortes/{B}"


@pytest.mark.parametrize("when", [Y1970, Y2100, None], ids=["1970", "2100", "now"])
def test_an_abandoned_upload_is_swept_by_roots_clock(env, journal, when):
    """Dated 2100 it was never swept; dated 1970, a fresh upload was swept at once."""
    env.upload(env.make_cut(A, FIRST))
    assert env.run()
    env.upload(env.make_cut(B, SECOND), marker=False)
    junk = env.incoming / NAMES["newline"]
    make(junk, "folder")
    for p in env.incoming.iterdir():
        if when is not None:
            date(p, when)
    t0 = time.time()
    act.sweep(env.cfg, now=t0)  # first seen now, whatever the mtimes say
    act.sweep(env.cfg, now=t0 + env.cfg.stale_s - 1)
    assert (env.incoming / B).exists() and junk.exists()
    act.sweep(env.cfg, now=t0 + env.cfg.stale_s)
    assert list(env.incoming.iterdir()) == []
    refused = one_line_refusals(journal)
    assert any(line.startswith(f"refused {B}: incomplete upload") for line in refused)
    assert any("abandoned entry" in line for line in refused)
    assert env.ultimo()["motivo"] == "incomplete upload"
    assert env.current() == f"cortes/{A}" and env.served_files() == FIRST


def test_an_upload_still_growing_is_not_swept(env):
    env.upload(env.make_cut(B, SECOND), marker=False)
    t0 = time.time()
    act.sweep(env.cfg, now=t0)
    (env.incoming / B / "actas" / "0003.jpg").write_bytes(b"more")
    date(env.incoming / B, Y1970)
    act.sweep(env.cfg, now=t0 + env.cfg.stale_s)  # changed since root last looked
    assert (env.incoming / B).exists()
    act.sweep(env.cfg, now=t0 + 2 * env.cfg.stale_s)
    assert not (env.incoming / B).exists()


def test_the_seen_record_is_roots_own(env):
    env.upload(env.make_cut(B, SECOND), marker=False)
    act.sweep(env.cfg, now=1000.0)
    seen = os.path.join(env.cfg.state_dir, contract.ACTIVATOR_SEEN_NAME)
    assert os.stat(seen).st_mode & 0o077 == 0
    assert os.path.commonpath([seen, str(env.jail)]) != str(env.jail)


def test_a_huge_sparse_file_is_dropped_and_the_valid_cut_activated(env, journal):
    junk = env.incoming / "relleno"
    with open(junk, "wb") as f:
        f.truncate(8 * 2**40)  # 8 TiB by its size, no block on disk
    date(junk, Y2100)
    env.upload(env.make_cut(A, FIRST))
    assert env.run() is True  # no cut was refused: an incomplete upload was dropped
    assert env.current() == f"cortes/{A}" and env.ultimo()["resultado"] == "activado"
    assert gone(env, "relleno")
    refused = one_line_refusals(journal)
    assert any(contract.JAIL_BUDGET_REASON in line and "incomplete upload dropped" in line
               for line in refused), refused


def test_a_cut_whose_upload_exceeds_the_budget_is_refused(env, journal):
    env.upload(env.make_cut(A, FIRST))
    assert env.run()
    env.upload(env.make_cut(B, SECOND))
    with open(env.incoming / B / "relleno", "wb") as f:  # not in the manifest: still bytes
        f.truncate(3 * env.cfg.jail_budget_bytes)
    assert env.run() is False
    u = env.ultimo()
    assert u["corte"] == B and u["resultado"] == "rechazado" and u["solicitud"] == "nonce-1"
    assert u["motivo"].startswith(contract.JAIL_BUDGET_REASON) and "cut refused" in u["motivo"]
    assert any(line.startswith(f"refused {B}: {contract.JAIL_BUDGET_REASON}") for line in journal)
    assert env.current() == f"cortes/{A}" and env.served_files() == FIRST
    assert list(env.incoming.iterdir()) == []


def test_over_budget_the_oldest_incomplete_upload_goes_first(env, journal):
    """Oldest by root's clock: the old upload says 2100, the newer one 1970."""
    env.upload(env.make_cut(A, FIRST))
    assert env.run()
    env.set(jail_budget_bytes=200_000)
    old = env.incoming / OLD_UPLOAD
    old.mkdir()
    (old / "a.bin").write_bytes(os.urandom(90_000))
    date(old, Y2100)
    t0 = time.time()
    act.run(env.cfg, now=t0)  # root sees it first
    newer = env.incoming / "20210606_1950_PREP"
    newer.mkdir()
    (newer / "b.bin").write_bytes(os.urandom(60_000))
    date(newer, Y1970)
    act.run(env.cfg, now=t0 + 5)
    assert old.exists() and newer.exists()  # 150 KB: within the budget
    env.upload(env.make_cut(B, SECOND))
    (env.incoming / B / "relleno.bin").write_bytes(os.urandom(50_000))  # now over it
    assert act.run(env.cfg, now=t0 + 10) is True  # nothing of B's was refused
    assert not old.exists() and newer.exists()
    assert env.current() == f"cortes/{B}" and env.ultimo()["corte"] == B
    dropped = [line for line in journal if contract.JAIL_BUDGET_REASON in line]
    assert len(dropped) == 1 and dropped[0].startswith(f"refused {OLD_UPLOAD}: "), dropped
    assert "incomplete upload dropped" in dropped[0] and "at most 200000 bytes" in dropped[0]


def test_too_many_entries_is_over_budget(env, journal):
    env.set(max_files=10)  # 1020 entries allowed in incoming/
    junk = env.incoming / "muchos"
    junk.mkdir()
    for i in range(1100):
        (junk / str(i)).write_bytes(b"")
    env.upload(env.make_cut(A, FIRST))
    assert env.run() is True
    assert not junk.exists() and env.current() == f"cortes/{A}"
    assert any(contract.JAIL_BUDGET_REASON in line for line in journal), journal


def deep(top, depth):
    """A chain of folders deeper than PATH_MAX from /, built as renames in SFTP could."""
    top.mkdir()
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(depth):
        os.mkdir("dd", dir_fd=fd)
        down = os.open("dd", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = down
    with open(os.open("f", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "wb") as f:
        f.write(b"deep")
    os.close(fd)


@pytest.mark.parametrize("name", ["hondo", "hondo" + contract.MARKER_SUFFIX])
def test_a_tree_deeper_than_path_max_is_measured_and_removed(env, journal, name, request):
    # Whatever happens, rm(1) clears it: pytest's own clean-up (shutil.rmtree, recursive)
    # cannot, and would fail every later session on this machine.
    request.addfinalizer(lambda: subprocess.run(["rm", "-rf", str(env.incoming)], check=False))
    deep(env.incoming / name, 1500)  # 4,500 bytes of path below incoming/, 1,500 levels
    env.upload(env.make_cut(A, FIRST))
    env.run(sweep=True)
    assert env.current() == f"cortes/{A}"
    t0 = time.time()
    act.sweep(env.cfg, now=t0)
    act.sweep(env.cfg, now=t0 + env.cfg.stale_s)
    assert list(env.incoming.iterdir()) == []
    one_line_refusals(journal)


def test_remove_entry_never_leaves_the_folder_it_was_given(env):
    """A folder moved while it is walked stops the walk; nothing outside it is touched."""
    (env.incoming / "x" / "a" / "b").mkdir(parents=True)
    keep = env.jail / "estado" / "keep"
    keep.write_text("root's")
    real_open = os.open

    def moving_open(path, flags, mode=0o777, *, dir_fd=None):
        fd = real_open(path, flags, mode, dir_fd=dir_fd)
        if path == "b":  # once inside x/a/b, the uploader moves x/a to the top
            os.rename(env.incoming / "x" / "a", env.incoming / "a")
        return fd
    os.open = moving_open
    try:
        jail.remove_entry(env.cfg, "x")
    finally:
        os.open = real_open
    assert keep.read_text() == "root's"
    assert jail.remove_entry(env.cfg, "x") and jail.remove_entry(env.cfg, "a")
    assert list(env.incoming.iterdir()) == []
