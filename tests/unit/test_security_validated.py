"""install_validated's shell: a failing validator leaves the previous files in place."""

import subprocess

from prep_iac.components.common import NEW, _swap_script


def run(script):
    return subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=False)


def test_failed_validation_restores(tmp_path):
    live, other = tmp_path / "a.conf", tmp_path / "b.conf"
    live.write_text("old\n")
    (tmp_path / ("a.conf" + NEW)).write_text("new\n")
    (tmp_path / ("b.conf" + NEW)).write_text("new b\n")
    result = run(_swap_script([str(live), str(other)], "echo 'bad line 3' >&2; false"))
    assert result.returncode == 1 and "bad line 3" in result.stderr
    assert live.read_text() == "old\n" and not other.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.conf"]


def test_good_validation_installs(tmp_path):
    live = tmp_path / "a.conf"
    live.write_text("old\n")
    (tmp_path / ("a.conf" + NEW)).write_text("new\n")
    assert run(_swap_script([str(live)], f"grep -q new {live}")).returncode == 0
    assert live.read_text() == "new\n" and sorted(p.name for p in tmp_path.iterdir()) == ["a.conf"]


def test_candidate_validator(tmp_path):
    live = tmp_path / "sudoers"
    live.write_text("old\n")
    (tmp_path / ("sudoers" + NEW)).write_text("broken\n")
    result = run(_swap_script([str(live)], "grep -q good {candidate}"))
    assert result.returncode == 1 and "failed validation" in result.stderr
    assert live.read_text() == "old\n" and not (tmp_path / ("sudoers" + NEW)).exists()
