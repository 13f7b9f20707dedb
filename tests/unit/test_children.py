"""An interrupted command ends its children and runs its cleanup (prep_iac/children.py).

The command here is a real `prep-iac` process (cli.run, the console script's entry) with one
extra sub-command that does what a drill does: it waits, from a thread pool, on a child in
its process group (as pyinfra runs) and on one leading a session of its own (as a verify
runs) with a grandchild, inside a `finally` that stands for the lab's teardown. The test
signals only the command's own PID, as a supervisor or a CI timeout does.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from prep_iac.lab.host import alive

REPO = Path(__file__).resolve().parents[2]

HANG = '''
import subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import click

from prep_iac import children

OUT = Path(sys.argv[-1])


@click.command()
@click.argument("out")
def hang(out):
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            plain = pool.submit(children.run, ["sleep", "300"])
            leader = pool.submit(children.run,
                                 ["sh", "-c", f"sleep 300 & echo $! > {OUT}/grandchild; wait"],
                                 start_new_session=True)
            while not (OUT / "grandchild").exists() or len(children._live) < 2:
                time.sleep(0.02)
            (OUT / "children").write_text(" ".join(map(str, children._live)))
            plain.result(), leader.result()
    finally:
        (OUT / "cleanup").write_text("ran")
'''

RUNNER = '''
import sys
sys.path.insert(0, sys.argv[1])
from prep_iac import cli
cli.SUBCOMMANDS["hang"] = "hang_cmd:hang"
sys.argv = ["prep-iac", "hang", sys.argv[2]]
cli.run()
'''


def wait_for(path: Path, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} never written"
        time.sleep(0.05)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_an_interrupted_command_ends_its_children_and_cleans_up(tmp_path, signum):
    (tmp_path / "hang_cmd.py").write_text(textwrap.dedent(HANG))
    out = tmp_path / "out"
    out.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", RUNNER, str(tmp_path), str(out)],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    started: list[int] = []
    try:
        wait_for(out / "children")
        started = [int(p) for p in (out / "children").read_text().split()]
        started.append(int((out / "grandchild").read_text()))
        assert all(map(alive, started))
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=20)
        assert proc.returncode == 128 + signum, err
        assert f"interrupted by {signal.Signals(signum).name}" in err
        assert (out / "cleanup").read_text() == "ran"
        deadline = time.monotonic() + 5  # the grandchild is reaped by whoever adopted it
        while any(map(alive, started)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [p for p in started if alive(p)]
    finally:  # a failed run leaves nothing behind either
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in filter(alive, started):
            os.kill(pid, signal.SIGKILL)


def test_a_child_started_after_the_interrupt_is_ended_at_once(monkeypatch):
    from prep_iac import children

    monkeypatch.setattr(children, "_received", signal.SIGTERM)
    started = time.monotonic()
    done = children.run(["sleep", "30"])
    assert done.returncode == -signal.SIGTERM and time.monotonic() - started < 10


def test_run_times_out_as_subprocess_run_does():
    from prep_iac import children

    with pytest.raises(subprocess.TimeoutExpired):
        children.run(["sleep", "30"], timeout=0.2)
    assert not children._live
    done = children.run(["sh", "-c", "cat; exit 3"], input="hola", capture_output=True,
                        text=True)
    assert (done.returncode, done.stdout) == (3, "hola")

