"""A short drill with every default fault, on its own lab (CONV-V).

One run proves two things: every default expectation is met (read from simulacro.json), and
a plan that expects the wrong outcome makes the run fail — the corrupt cut's expectation is
flipped on purpose, so the drill must exit 1 for that fault alone.
"""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import require_root, side_lab

from prep_iac.simulacro.drill import conformance_periods
from prep_iac.simulacro.plan import default_plan

pytestmark = pytest.mark.lab

PERIOD = 10
DIFUSORES = 3  # difusor-1/2 are the HA pair, difusor-3 gets its network cut


class Drill:
    """The drill as a child process: started by conftest's `drill_beside` before the session's
    lab boots, so its whole night (about 9 minutes, on a lab of its own: conftest.SIDE_LABS)
    runs beside the other lab tests instead of after them."""

    def __init__(self, tmp: Path):
        plan = default_plan(DIFUSORES, ha=True, first=conformance_periods(PERIOD, DIFUSORES) + 1)
        faults = [f.model_dump() for f in plan.faults]
        for fault in faults:
            if fault["kind"] == "corrupt_cut":
                fault["expect"] = {"refused": False}  # wrong on purpose
        plan_file = tmp / "plan.yml"
        plan_file.write_text(yaml.safe_dump({"faults": faults}))
        self.out = tmp / "out"
        self.log = tmp / "simulacro.log"
        name, subnet = side_lab("sim")
        prep = Path(sys.executable).with_name("prep-iac")
        with self.log.open("w") as log:
            # Same process group as pytest: a Ctrl-C reaches the drill too, which then takes
            # its lab down itself.
            self.proc = subprocess.Popen(
                [str(prep), "simulacro", "--difusores", str(DIFUSORES), "--ha",
                 "--periodo", f"{PERIOD}s", "--hasta", "00:20", "--faults", str(plan_file),
                 "--actas", "300", "--out", str(self.out)],
                stdout=log, stderr=subprocess.STDOUT, text=True,
                env=dict(os.environ, PREP_LAB_NAME=name, PREP_LAB_SUBNET=subnet))

    def result(self, timeout: float = 1800):
        """(exit code, simulacro.json, out dir) once the drill has ended."""
        returncode = self.proc.wait(timeout=timeout)
        results_file = self.out / "simulacro.json"
        assert results_file.exists(), self.log.read_text()[-6000:]
        return returncode, json.loads(results_file.read_text()), self.out

    def stop(self) -> None:
        """The session ends: a drill still running (its tests failed early or were not
        reached) is interrupted, and it takes its lab down (simulacro's own finally)."""
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=300)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"the drill did not stop on SIGINT; its lab may be left: prep-iac lab "
                        f"destroy --name {side_lab('sim')[0]}", pytrace=False)


@pytest.fixture(scope="module")
def drill(drill_beside):
    require_root()
    return drill_beside.result()


def test_the_wrong_expectation_fails_the_run(drill):
    returncode, results, _ = drill
    assert returncode == 1 and results["ok"] is False
    failed = [f["kind"] for f in results["faults"] if not f["ok"]]
    assert failed == ["corrupt_cut"], results["faults"]


def test_every_check_of_the_night_passed(drill):
    _, results, _ = drill
    failed = [c for c in results["checks"] if not c["ok"]]
    assert not failed, failed


def test_every_default_fault_had_its_default_outcome(drill):
    _, results, _ = drill
    defaults = {f.kind: f.expect.model_dump() for f in default_plan(DIFUSORES, ha=True).faults}
    assert {f["kind"] for f in results["faults"]} == set(defaults)
    for fault in results["faults"]:
        assert fault["observed"] == defaults[fault["kind"]], fault


def test_the_corrupt_cut_was_refused_everywhere_with_its_reason(drill):
    _, results, _ = drill
    corrupt = next(f for f in results["faults"] if f["kind"] == "corrupt_cut")
    assert corrupt["observed"] == {"refused": True}
    assert len([e for e in corrupt["evidence"] if ": refused (" in e]) == DIFUSORES


def test_cuts_propagated_and_the_summary_renders(drill):
    _, results, out = drill
    assert results["propagation"]["n"] > 0 and results["propagation"]["p95_s"] <= PERIOD
    # Where the time went, from the publisher's own lines: most cuts were pushed by it (the
    # faults deliver some themselves), after it was produced.
    staged = [c["stages"] for c in results["cuts"] if c["stages"]["first_push_s"] is not None]
    assert len(staged) > len(results["cuts"]) / 2, [c["stages"] for c in results["cuts"]]
    assert all(st["handed_over_s"] > 0 and st["first_push_s"] > 0 for st in staged), staged
    html = (out / "simulacro.html").read_text()
    assert "Simulacro de la noche electoral" in html and "network_cut" in html
    assert results["memoria"] and (out / "memoria" / "report.html").exists()


def test_the_nights_incidents_are_in_the_memoria(drill):
    """CONV-VI: the memoria's incident list reads what the night's faults left in the
    difusores' journals, and its figures count the visitors' traffic."""
    _, results, out = drill
    report = json.loads((out / "memoria" / "report.json").read_text())
    kinds = {(i["kind"], i["host"]) for i in report["incidents"]}
    stopped = {f["target"] for f in results["faults"] if f["kind"] in ("network_cut", "freeze")}
    assert len(stopped) == 2 and {("aviso", host) for host in stopped} <= kinds
    # ...and nothing else showed the notice: not before the first cut, not after the last
    assert {host for kind, host in kinds if kind == "aviso"} == stopped, kinds
    assert {("corte_rechazado", f"difusor-{n}") for n in range(1, DIFUSORES + 1)} <= kinds
    assert ("bateria", "difusor-1") in kinds
    totals = report["window"]["totals"]
    assert totals["pages"] > 0 and totals["s429"] > 0  # the visitors, and the flood's 429s
    assert (out / "memoria-logs" / "bitacoras.tar.gz").exists()


def test_the_calendar_fits_the_night(drill):
    """Every difusor waits closed (por-abrir) until the first cut and, after the PREP's
    close, keeps the final cut up as `concluido` with no notice; the notice shows only
    where cuts really stopped (the network cut's and the freeze's targets)."""
    _, results, _ = drill
    stopped = {f["target"] for f in results["faults"] if f["kind"] in ("network_cut", "freeze")}
    last = results["cuts"][-1]["id"]
    for name in results["config"]["difusor_names"]:
        rows = [o for o in results["timeline"] if o["difusor"] == name and o["estado"]]
        states = [o["estado"] for o in rows]
        assert states[0] == "por-abrir" and states[-1] == "concluido", (name, states)
        assert rows[-1]["corte"] == last
        assert states.index("concluido") > max(
            (i for i, s in enumerate(states) if s == "aviso"), default=-1)
        assert ("aviso" in states) == (name in stopped), (name, states)
    close = next(c for c in results["checks"] if c["name"].startswith("tras el cierre"))
    assert close["ok"], close
