"""The drill's hand-over of a cut to the publisher: only the changed files travel, and the
publisher's copy ends up identical to the cut (run locally, the same shell the publisher runs)."""

import io
import os
import subprocess
from pathlib import Path

from prep_iac.simulacro import handover


def make(folder: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
    return folder


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_only_new_and_rewritten_files_are_sent(tmp_path):
    prev = make(tmp_path / "c1", {"index.html": b"v1", "actas/a1.png": b"img1",
                                  "gone.json": b"old"})
    new = make(tmp_path / "c2", {"index.html": b"v2", "actas/a2.png": b"img2"})
    os.link(prev / "actas/a1.png", new / "actas/a1.png")  # the generator's hard link
    send, remove = handover.delta(prev, new)
    assert send == ["actas/a2.png", "index.html"]
    assert remove == ["gone.json", "index.html"]
    assert handover.delta(None, new)[0] == ["actas/a1.png", "actas/a2.png", "index.html"]


def test_the_publisher_copy_equals_the_cut_and_reuses_unchanged_files(tmp_path):
    drop = tmp_path / "drop"
    prev = make(tmp_path / "local/c1", {"index.html": b"v1", "actas/a1.png": b"img1",
                                        "gone.json": b"old"})
    new = make(tmp_path / "local/c2", {"index.html": b"v2", "datos/m.json": b"{}"})
    (new / "actas").mkdir()
    os.link(prev / "actas/a1.png", new / "actas/a1.png")
    for previous, folder in ((None, prev), (prev, new)):
        send, remove = handover.delta(previous, folder)
        script = handover.remote_script(str(drop), folder.name, previous and previous.name,
                                        remove).replace("sudo ", "")
        buf = io.BytesIO()
        handover.write_tar(folder, send, buf)
        subprocess.run(["bash", "-ec", script], input=buf.getvalue(), check=True)
        assert tree(drop / folder.name) == tree(folder)
    assert (drop / "c2/actas/a1.png").stat().st_ino == (drop / "c1/actas/a1.png").stat().st_ino
    assert (drop / "c1/index.html").read_bytes() == b"v1"  # the previous cut is untouched
    assert not list(drop.glob(".*"))
