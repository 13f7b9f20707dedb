"""The size benchmarks' arithmetic (bench/scaling.py): missed deliveries, per-host ratios."""

import importlib.util
import math
from pathlib import Path

_PATH = Path(__file__).resolve().parents[2] / "bench" / "scaling.py"
_SPEC = importlib.util.spec_from_file_location("bench_scaling", _PATH)
scaling = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(scaling)


def test_missed_lists_only_good_cuts_never_seen():
    cuts = [{"id": "c1", "corrupt": False, "delays": {"difusor-2": None, "difusor-1": 4.1}},
            {"id": "c2", "corrupt": True, "delays": {"difusor-1": None}},
            {"id": "c3", "corrupt": False, "delays": {"difusor-1": 0.0, "difusor-2": 7.5}}]
    assert scaling.missed_deliveries(cuts) == ["c1 difusor-2"]


def test_missed_is_empty_when_all_served():
    assert scaling.missed_deliveries([{"id": "c1", "delays": {"difusor-1": 3.0}}]) == []


def test_per_host_against_the_smallest_size():
    rows = scaling.per_host({30: 450.0, 10: 200.0, 50: 1000.0})
    assert list(rows) == [10, 30, 50]
    assert rows[10] == {"per_host": 20.0, "vs_base": 1.0}
    assert rows[30]["per_host"] == 15.0 and rows[30]["vs_base"] == 0.75
    assert rows[50]["vs_base"] == 1.0


def test_per_host_without_a_base_time():
    assert scaling.per_host({}) == {}
    assert math.isnan(scaling.per_host({10: 0.0, 20: 5.0})[20]["vs_base"])


def test_children_cpu_grows_with_a_child_that_works():
    import subprocess
    import sys

    before = scaling.children_cpu_s()
    subprocess.run([sys.executable, "-c", "sum(i * i for i in range(3_000_000))"], check=True)
    assert scaling.children_cpu_s() > before
