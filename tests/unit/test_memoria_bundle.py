"""The logs bundle: files exactly as found, SHA-256 list inside and beside; collect from copies."""

import gzip
import hashlib
import json
import shutil
import tarfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from prep_iac.errors import PrepError
from prep_iac.memoria import bundle, collect

DATA = Path(__file__).parent.parent / "data" / "memoria"
MTY = ZoneInfo("America/Monterrey")


def _node(root: Path, name: str) -> Path:
    d = root / name
    d.mkdir(parents=True)
    lines = (DATA / "access-known.log").read_bytes().splitlines(keepends=True)
    with gzip.open(d / "prep.access.log.2.gz", "wb") as f:
        f.writelines(lines[:5])
    (d / "prep.access.log").write_bytes(b"".join(lines[5:]))
    # An older rotation outside the requested days: not bundled.
    (d / "prep.access.log.9").write_bytes(
        b'1.2.3.4 - - [01/May/2021:10:00:00 -0500] "GET / HTTP/1.1" 200 1 "-" "x"\n')
    shutil.copy(DATA / "journal.json", d / "journal.json")
    return d


def test_bundle_sums_match(tmp_path):
    node = _node(tmp_path / "src", "difusor-1")
    files = sorted(p for p in node.iterdir() if p.name.startswith("prep"))
    sums = bundle.write_bundle(files, tmp_path / "src", tmp_path / "out" / "b.tar.gz")
    for name, h in sums.items():
        assert hashlib.sha256((tmp_path / "src" / name).read_bytes()).hexdigest() == h
    assert bundle.verify_bundle(tmp_path / "out" / "b.tar.gz") == []
    beside = (tmp_path / "out" / "SHA256SUMS").read_text()
    assert beside.count("\n") == 3 and "difusor-1/prep.access.log.2.gz" in beside
    with tarfile.open(tmp_path / "out" / "b.tar.gz") as tar:
        gz = tar.extractfile("difusor-1/prep.access.log.2.gz").read()
    assert gz == (node / "prep.access.log.2.gz").read_bytes()  # as found, not recompressed
    own = (tmp_path / "out" / "b.tar.gz.sha256").read_text().split()[0]
    assert own == hashlib.sha256((tmp_path / "out" / "b.tar.gz").read_bytes()).hexdigest()


def test_tampered_bundle_detected(tmp_path):
    node = _node(tmp_path / "src", "n")
    tar_path = tmp_path / "b.tar.gz"
    bundle.write_bundle([node / "prep.access.log"], tmp_path / "src", tar_path)
    with tarfile.open(tar_path) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    members["n/prep.access.log"] += b"forged line\n"
    with tarfile.open(tar_path, "w:gz") as tar:
        for name, body in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, __import__("io").BytesIO(body))
    assert bundle.verify_bundle(tar_path) == ["n/prep.access.log"]


def test_log_span_plain_and_gzip(tmp_path):
    node = _node(tmp_path, "n")
    a = bundle.log_span(node / "prep.access.log.2.gz")
    b = bundle.log_span(node / "prep.access.log")
    assert a[0] == datetime(2021, 6, 6, 20, 1, tzinfo=MTY).timestamp()
    assert b[1] == datetime(2021, 6, 7, 1, 0, tzinfo=MTY).timestamp()
    (tmp_path / "empty.log").write_bytes(b"")
    assert bundle.log_span(tmp_path / "empty.log") is None


def test_collect_from_copied_folders(tmp_path):
    src = tmp_path / "copias"
    _node(src, "difusor-1")
    _node(src, "difusor-2")
    out = tmp_path / "out"
    since = datetime(2021, 6, 6, tzinfo=MTY)
    until = datetime(2021, 6, 8, tzinfo=MTY)
    nodes = collect.nodes_from_folder(src)
    summary = collect.collect(nodes, out, since, until, collect.copy_from(src), MTY)
    assert sorted(summary["archivos"]) == [
        "difusor-1/prep.access.log", "difusor-1/prep.access.log.2.gz",
        "difusor-2/prep.access.log", "difusor-2/prep.access.log.2.gz"]
    assert bundle.verify_bundle(out / "bitacoras.tar.gz") == []
    kinds = [i["kind"] for i in json.loads((out / "incidentes.json").read_text())["incidentes"]]
    assert kinds.count("aviso") == 2  # one per node
    for name in ("prep.access.log", "prep.access.log.2.gz", "journal.json"):
        assert (out / "difusor-1" / name).read_bytes() == (src / "difusor-1" / name).read_bytes()


def test_collect_fetches_nodes_at_once_and_a_failed_node_names_itself(tmp_path):
    import threading

    src = tmp_path / "copias"
    for i in range(1, 13):
        _node(src, f"difusor-{i}")
    copy, running, most, lock = collect.copy_from(src), [0], [0], threading.Lock()
    two_in = threading.Barrier(2, timeout=5)  # a second node starts while the first waits

    def fetch(node, dest, since, until):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        if node.name in ("difusor-1", "difusor-2"):
            two_in.wait()
        copy(node, dest, since, until)
        with lock:
            running[0] -= 1

    nodes = collect.nodes_from_folder(src)
    since, until = datetime(2021, 6, 6, tzinfo=MTY), datetime(2021, 6, 8, tzinfo=MTY)
    summary = collect.collect(nodes, tmp_path / "out", since, until, fetch, MTY)
    assert len(summary["nodos"]) == 12 and 2 <= most[0] <= collect.FETCH_PARALLEL
    nodes.append(collect.Node("difusor-99", ""))
    with pytest.raises(PrepError, match="no folder .*difusor-99"):
        collect.collect(nodes, tmp_path / "out2", since, until, copy, MTY)


def test_collect_nothing_in_period(tmp_path):
    src = tmp_path / "copias"
    _node(src, "difusor-1")
    with pytest.raises(PrepError, match="no access log"):
        collect.collect(collect.nodes_from_folder(src), tmp_path / "out",
                        datetime(2020, 1, 1, tzinfo=MTY), datetime(2020, 1, 2, tzinfo=MTY),
                        collect.copy_from(src))


def test_inventory_nodes_and_limits(tmp_path):
    inv = Path(__file__).parent.parent.parent / "inventories" / "example-difusor.yml"
    nodes = collect.nodes_from_inventory(inv)
    assert nodes[0].name == "difusor-1" and nodes[0].address == "203.0.113.10"
    assert collect.inventory_limits(inv) == {"rate_limit_rps": 50, "link_mbps": 100}


def test_cli_collect_then_report(tmp_path):
    from click.testing import CliRunner

    from prep_iac.memoria.cli import memoria

    src = tmp_path / "copias"
    _node(src, "difusor-1")
    out = tmp_path / "memoria"
    r = CliRunner().invoke(memoria, ["collect", "--bitacoras", str(src), "--desde",
                                     "2021-06-06 00:00", "--hasta", "2021-06-08 00:00", "--out",
                                     str(out)])
    assert r.exit_code == 0, r.output
    assert bundle.verify_bundle(out / "bitacoras.tar.gz") == []
    old = tmp_path / "memoria-0.1"  # --from, the option's name in prep-iac 0.1, still works
    r = CliRunner().invoke(memoria, ["collect", "--from", str(src), "--desde", "2021-06-06 00:00",
                                     "--hasta", "2021-06-08 00:00", "--out", str(old)])
    assert r.exit_code == 0, r.output
    assert bundle.verify_bundle(old / "bitacoras.tar.gz") == []
    r = CliRunner().invoke(memoria, ["report", "--logs", str(out), "--out", str(out / "informe"),
                                     "--desde", "2021-06-06 00:00", "--hasta", "2021-06-08 00:00",
                                     "--no-pdf"])
    assert r.exit_code == 0, r.output
    data = json.loads((out / "informe" / "report.json").read_text())
    assert data["window"]["totals"]["hits"] == 13
    assert len(data["bundle"]) == 2  # the SHA-256 list is in the report
    r = CliRunner().invoke(memoria, ["collect", "--desde", "2021-06-06", "--hasta", "2021-06-07",
                                     "--out", str(out)])
    assert isinstance(r.exception, PrepError)
