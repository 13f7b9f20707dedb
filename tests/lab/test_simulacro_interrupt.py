"""A drill stopped in the middle of its deploys (SIGTERM, as a supervisor or a CI timeout
sends it, to the drill's PID alone) ends its pyinfra runs, takes its lab down and exits 143,
at once rather than when the deploys would have finished (prep_iac/children.py)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import assert_nothing_left, require_root, side_lab

from prep_iac.lab.host import alive, cmdline

pytestmark = pytest.mark.lab


def pyinfra_children(pid: int) -> list[int]:
    """PIDs of the pyinfra processes `pid` started. By parent PID, not host.children: that
    lists one thread's children, and the drill starts its deploys from worker threads."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rpartition(")")[2].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # ended while read
        pid_of = int(stat.parent.name)
        if ppid == pid and any(a.endswith("/pyinfra") for a in cmdline(pid_of)):
            found.append(pid_of)
    return found


def test_a_drill_stopped_during_its_deploys_takes_its_lab_down(tmp_path):
    require_root()
    name, subnet = side_lab("stop")
    prep = Path(sys.executable).with_name("prep-iac")
    log = tmp_path / "simulacro.log"
    with log.open("w") as out:
        drill = subprocess.Popen(
            [str(prep), "simulacro", "--difusores", "1", "--periodo", "10s", "--hasta", "00:20",
             "--faults", "none", "--actas", "300", "--out", str(tmp_path / "out")],
            stdout=out, stderr=subprocess.STDOUT,
            env=dict(os.environ, PREP_LAB_NAME=name, PREP_LAB_SUBNET=subnet))
    try:
        deadline = time.monotonic() + 600
        while not (deploys := pyinfra_children(drill.pid)):
            assert drill.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "no deploy began in 600 s"
            time.sleep(0.2)
        drill.send_signal(signal.SIGTERM)
        stopped_at = time.monotonic()
        returncode = drill.wait(timeout=300)
        took = time.monotonic() - stopped_at
        text = log.read_text()
        assert returncode == 143, text[-3000:]
        assert "interrupted by SIGTERM" in text
        assert not [p for p in deploys if alive(p)]
        # the teardown alone: a first deploy would still have had minutes to go
        assert took < 120, f"the drill took {took:.0f} s to stop"
        assert_nothing_left(name)
    finally:
        if drill.poll() is None:
            drill.kill()
            drill.wait()
        if drill.returncode != 143:  # whatever the drill left, this test takes down
            subprocess.run([str(prep), "lab", "destroy", "--name", name], check=False,
                           capture_output=True)
