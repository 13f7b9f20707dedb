"""A conformance run of the drill (verify, audits) that does not end in time: a failed check
with its reason, the drill's results kept, and the run stopped with what it started."""

import json
import os
import sys
import time
from pathlib import Path

from prep_iac.simulacro import drill, verdicts


def test_a_run_past_its_time_is_a_failed_run_and_its_children_are_ended(tmp_path):
    out = tmp_path / "verify-cierre"
    pid_file = tmp_path / "child.pid"
    # A run that starts a check of its own and waits on it, as verify does with pytest.
    script = ("import subprocess, sys, time; "
              "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
              f"open({str(pid_file)!r}, 'w').write(str(c.pid)); print('started', flush=True); "
              "time.sleep(60)")
    started = time.monotonic()
    report = drill._report([sys.executable, "-c", script], out, timeout=2)
    assert time.monotonic() - started < 30
    assert report["ok"] is False and report["timed_out"] == 2 and report["rc"] is None
    assert "started" in report["output"]
    child = int(pid_file.read_text())
    for _ in range(50):  # SIGTERM reached the whole group; the child is gone (or a zombie)
        try:
            state = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            break
        if state == "Z":
            break
        time.sleep(0.1)
    else:
        os.kill(child, 9)
        raise AssertionError("the run's own check outlived it")
    check = verdicts.conformance_check("conformidad al cierre", {"verify": report})
    assert check["ok"] is False and check["detail"] == "verify: no terminó en 2 s"


def test_a_run_in_time_keeps_its_exit_code_and_output(tmp_path):
    report = drill._report([sys.executable, "-c", "print('hecho'); raise SystemExit(1)"],
                           tmp_path / "audit-difusor-1-apertura", timeout=30)
    assert report == {"ok": False, "html": "audit-difusor-1-apertura/conformance.html", "rc": 1,
                      "output": "hecho\n", "failed": []}
    ok = drill._report([sys.executable, "-c", "pass"], tmp_path / "verify-apertura", timeout=30)
    assert ok["ok"] is True and ok["rc"] == 0
    assert verdicts.conformance_check("x", {"verify": ok, "audit": report})["detail"] == \
        "verify: cumple, audit: no cumple"


def test_a_failed_run_names_the_checks_it_found_failing(tmp_path):
    """The drill's verdict says which checks failed, read from the run's conformance.json."""
    rows = [{"check": "audit::enlace", "host": "difusor-2", "status": "no cumple"},
            {"check": "audit::marcos", "host": "difusor-2", "status": "cumple"},
            {"check": "audit::puertos", "host": "difusor-2", "status": "no cumple"}]
    out = tmp_path / "audit-difusor-2-cierre"
    write = ("import json, pathlib, sys; p = pathlib.Path(sys.argv[1]); p.mkdir(); "
             "(p / 'conformance.json').write_text(json.dumps({'comprobaciones': "
             f"{rows!r}}})); raise SystemExit(1)")
    report = drill._report([sys.executable, "-c", write, str(out)], out, timeout=30)
    assert report["failed"] == ["audit::enlace", "audit::puertos"]
    assert verdicts.conformance_check("x", {"audit difusor-2": report})["detail"] == \
        "audit difusor-2: no cumple (audit::enlace, audit::puertos)"
    verify = [{"check": "web::tls", "host": "difusor-1", "status": "no cumple"},
              {"check": "web::tls", "host": "difusor-2", "status": "cumple"}]
    (tmp_path / "conformance.json").write_text(json.dumps({"comprobaciones": verify}))
    assert drill._failed_checks(tmp_path / "conformance.json") == ["difusor-1 web::tls"]
    assert drill._failed_checks(tmp_path / "missing.json") == []
