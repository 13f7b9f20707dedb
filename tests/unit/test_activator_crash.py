"""A crash at any step leaves the old or the new cut served, whole; the next run finishes."""

import os

import pytest
from test_activator_cuts import FIRST, SECOND
from test_activator_env import Env

from prep_iac.onhost import activator as act


class Crash(BaseException):
    """Stands for a kill -9 / power cut: nothing of the activator's handling runs after it."""


STEPS = ["copy_hashing", "link_reused", "sync_tree", "rename", "write_json", "switch_current",
         "write_estado", "publish_to_jail", "remove_upload", "prune"]


@pytest.mark.parametrize("step", STEPS)
def test_crash_then_rerun(tmp_path, monkeypatch, step):
    env = Env(tmp_path)
    env.upload(env.make_cut("20210606_2000_PREP", FIRST))
    assert env.run()
    env.upload(env.make_cut("20210606_2010_PREP", SECOND))

    def boom(*a, **k):
        raise Crash(step)
    target = os if step == "rename" else act
    with monkeypatch.context() as m:
        m.setattr(target, step, boom)
        with pytest.raises(Crash):
            env.run()
    served = env.served_files()
    assert served in (FIRST, SECOND), f"a mix after a crash in {step}"
    # The marker is still there (or the upload was already fully handled): run again.
    env.run()
    assert env.current() == "cortes/20210606_2010_PREP"
    assert env.served_files() == SECOND
    assert not [p for p in (env.root / "cortes").iterdir() if p.name.startswith(".tmp")]
    assert not [p for p in env.root.iterdir() if p.name.startswith(".current.tmp")]
