"""The cut pipeline on lab hosts (1 publisher, 3 difusores): push, delta, atomic switch,
the jail's confinement, every refusal, 3-strike suspension, host-key pinning, the service.

    PREP_LAB_NAME=pipe PREP_LAB_SUBNET=10.85.0.0/24 PREP_LAB_DIFUSORES=3 \
        .venv/bin/pytest -m lab tests/lab/test_pipeline.py

PREP_PIPELINE_FULL=1 deploys the whole deploys/difusor.py and deploys/publisher.py instead
of the pipeline's components alone.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import paramiko
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "pipeline"))
from helpers import (
    JAIL,
    TIME_CSV,
    Jail,
    age_jail_entries,
    current,
    deploy,
    ensure_inotify,
    fresh_stamp,
    journal,
    keypair,
    local_digests,
    make_cut,
    new_ledger,
    push,
    registry_for,
    served_digests,
    sh,
    site,
    try_exec,
)

from prep_iac import contract
from prep_iac.onhost.publisher import delta, listpage
from prep_iac.onhost.publisher.run import prepare

pytestmark = pytest.mark.lab
A, B = "20210606_2000_PREP_AYUN_COAH", "20210606_2010_PREP_AYUN_COAH"


@pytest.fixture(scope="module")
def pipe(lab, tmp_path_factory):
    if len([n for n in lab.hosts if n.startswith("difusor-")]) < 3:
        pytest.fail("the pipeline tests need 3 difusores: PREP_LAB_DIFUSORES=3", pytrace=False)
    ensure_inotify()
    full = os.environ.get("PREP_PIPELINE_FULL") == "1"
    files = (["deploys/difusor.py", "deploys/publisher.py"] if full
             else ["tests/lab/pipeline/deploy_pipeline.py"])
    first = [deploy(lab, f) for f in files]
    for ok, _, out in first:
        assert ok, out[-4000:]
    second = [deploy(lab, f) for f in files]
    tmp = tmp_path_factory.mktemp("pipe")
    registry = registry_for(lab, period_s=2)
    return SimpleNamespace(lab=lab, registry=registry, dir=tmp, ledger=new_ledger(tmp, registry),
                           second=second, cuts={})


def difusores(pipe):
    return [d.name for d in pipe.registry.difusores]


def changed_ops(out):
    """Rows of pyinfra's results table whose 'changed' column is not empty."""
    rows = []
    for line in out.splitlines():
        cols = line.split()
        if "|" in line and len(cols) > 4 and cols[-3].isdigit() and int(cols[-3]) > 0:
            rows.append(line.strip())
    return rows


def test_deploy_is_idempotent(pipe):
    for ok, changed, out in pipe.second:
        assert ok, out[-4000:]
        assert changed == 0, "\n".join(changed_ops(out))


def test_first_cut_reaches_every_difusor(pipe):
    folder = make_cut(pipe.dir, A, site(seed=b"1"))
    pipe.cuts[A] = folder
    results = push(pipe.registry, folder, pipe.ledger)
    files = [p for p in folder.rglob("*") if p.is_file()]  # site() and the time CSV
    total = sum(p.stat().st_size for p in files)
    for name in difusores(pipe):
        r = results[name]
        assert r.result == "activated", r
        assert r.sent_files == len(files) and r.sent_bytes >= total
        assert current(pipe.lab, name) == f"cortes/{A}"
        assert served_digests(pipe.lab, name) == local_digests(folder)
        assert f"activated {A}" in journal(pipe.lab, name, "prep-activator")
        assert r.delta_base == "difusor"  # no cut of ours known: its served state was read


def test_following_cut_sends_only_what_changed(pipe):
    files = site(seed=b"1")
    files["index.html"] = b"<h1>PREP 2</h1>"
    files["datos/AYUN_COAH.csv"] = b"casilla,votos\n" + b"2" * 500
    for i in range(60, 65):
        files[f"actas/{i:04d}.jpg"] = hashlib.sha256(b"%d" % i).digest() * 250
    folder = make_cut(pipe.dir, B, files)
    pipe.cuts[B] = folder
    # ...and the time CSV, which names each cut's own time
    changed = {"index.html", "datos/AYUN_COAH.csv", TIME_CSV} | {
        f"actas/{i:04d}.jpg" for i in range(60, 65)}
    changed_bytes = sum((folder / p).stat().st_size for p in changed)
    # As the publisher service does: the cut it signed before is the delta's base, used
    # because each difusor names those exact signed bytes as served.
    known = delta.known_bases([prepare(pipe.cuts[A], A, pipe.registry).data])
    results = push(pipe.registry, folder, pipe.ledger, known=known)
    for name in difusores(pipe):
        r = results[name]
        assert r.result == "activated", r
        assert r.delta_base == "publisher", r
        assert r.sent_files == len(changed)
        # What went beyond the changed files is the signed manifest alone (a few KB).
        assert changed_bytes <= r.sent_bytes <= changed_bytes + 20_000, r
        assert current(pipe.lab, name) == f"cortes/{B}"
        assert served_digests(pipe.lab, name) == local_digests(folder)


def test_jail_confines_the_iec_account(pipe):
    jail = Jail(pipe.registry, "difusor-1")
    try:
        assert sorted(jail.sftp.listdir("/")) == ["estado", "incoming"]
        for path in ("/etc/passwd", "/../../etc/passwd", "/srv/prep/estado.json"):
            with pytest.raises(OSError):
                jail.sftp.open(path).read()
        for path in ("/x", "/estado/x"):
            with pytest.raises(OSError):
                jail.sftp.open(path, "wb").write(b"x")
        jail.put("/incoming/prueba.txt", b"ok")  # incoming/ is writable
        jail.sftp.remove("/incoming/prueba.txt")
        with pytest.raises(OSError):
            jail.sftp.symlink("/etc/shadow", "/incoming/sombra")
        with pytest.raises(OSError):
            jail.sftp._request(paramiko.sftp.CMD_EXTENDED, "hardlink@openssh.com",
                               "/estado/ultimo.json", "/incoming/enlace")
        _rc, out = try_exec(jail.transport, "id; cat /etc/shadow")
        assert b"uid=" not in out and b"root:" not in out
        chan = jail.transport.open_session(timeout=5)
        with pytest.raises(paramiko.SSHException):
            chan.get_pty()
        with pytest.raises((paramiko.ChannelException, paramiko.SSHException)):
            jail.transport.open_channel("direct-tcpip", ("127.0.0.1", 22), ("127.0.0.1", 0),
                                        timeout=5)
    finally:
        jail.close()
    # From outside the IEC's sources the account cannot authenticate at all.
    cfg = sh(pipe.lab, "difusor-1", "sudo sshd -T -C user=iec,host=x,addr=192.0.2.7")
    assert "pubkeyauthentication no" in cfg and "authorizedkeysfile none" in cfg
    admin = sh(pipe.lab, "difusor-1", "sudo sshd -T -C user=prepadmin,host=x,addr=10.85.0.1")
    assert "subsystem sftp /usr/lib/openssh/sftp-server" in admin
    assert "chrootdirectory none" in admin


GOOD = {"index.html": b"<h1>malo</h1>", "datos/x.csv": b"a,b\n"}


def _sha(data):
    return hashlib.sha256(data).hexdigest()


def _doc(cut_id, entries, registry):
    return {"formato": contract.MANIFEST_FORMAT, "corte": cut_id,
            "fecha_hora": "2021-06-06T23:00:00-05:00", **fresh_stamp(registry),
            "archivos": [{"ruta": r, "bytes": len(d), "sha256": _sha(d)} for r, d in entries]}


def case_unsigned(jail, cut, key, other):
    jail.upload_cut(cut, GOOD, sign=False)
    return "unsigned"


def case_wrong_signer(jail, cut, key, other):
    jail.upload_cut(cut, GOOD, key=other)
    return "bad signature"


def case_hash_differs(jail, cut, key, other):
    jail.upload_cut(cut, GOOD, key=key)
    jail.put(f"/incoming/{cut}/index.html", b"<h1>MALO</h1>")  # same size, other bytes
    return "hash mismatch"


def case_missing_file(jail, cut, key, other):
    jail.upload_cut(cut, GOOD, _doc(cut, [*GOOD.items(), ("actas/9.jpg", b"jpg")],
                                    jail.registry), key=key)
    return "missing file 'actas/9.jpg'"


def case_dotdot(jail, cut, key, other):
    jail.upload_cut(cut, GOOD, _doc(cut, [("../../../etc/cron.d/x", b"* * * * * root id")],
                                    jail.registry), key=key)
    return "leaves its folder"


def case_absolute(jail, cut, key, other):
    jail.upload_cut(cut, GOOD, _doc(cut, [("/etc/cron.d/x", b"* * * * * root id")],
                                    jail.registry), key=key)
    return "absolute path"


def case_oversized(jail, cut, key, other):
    doc = _doc(cut, GOOD.items(), jail.registry)
    doc["archivos"][0]["bytes"] = 3 * 1024**3  # more than iec.max_cut_mb
    jail.upload_cut(cut, GOOD, doc, key=key)
    return "too large"


CASES = [case_unsigned, case_wrong_signer, case_hash_differs, case_missing_file, case_dotdot,
         case_absolute, case_oversized]


@pytest.mark.parametrize("case", CASES, ids=[c.__name__[5:] for c in CASES])
def test_bad_cut_is_refused_and_old_cut_stays(pipe, case):
    lab, name = pipe.lab, "difusor-1"
    other = pipe.dir / "otra_firma"
    if not other.exists():
        keypair(other)
    before = served_digests(lab, name)
    cut = f"20210606_2300_MALO_{case.__name__[5:]}"
    jail = Jail(pipe.registry, name)
    try:
        reason = case(jail, cut, Path(pipe.registry.signing_key), other)
        verdict = jail.mark(cut)
    finally:
        jail.close()
    assert verdict["resultado"] == "rechazado" and reason in verdict["motivo"], verdict
    assert current(lab, name) == f"cortes/{B}"
    assert served_digests(lab, name) == before
    assert f"refused {cut}: " in journal(lab, name, "prep-activator")
    assert sh(lab, name, f"sudo ls -A {JAIL}/incoming").strip() == ""


def test_symlink_to_shadow_is_refused(pipe):
    lab, name = pipe.lab, "difusor-1"
    cut = "20210606_2300_MALO_symlink"
    before = served_digests(lab, name)
    jail = Jail(pipe.registry, name)
    try:
        jail.upload_cut(cut, GOOD, key=Path(pipe.registry.signing_key))
        with pytest.raises(OSError):  # the jail itself refuses to make it
            jail.sftp.symlink("/etc/shadow", f"/incoming/{cut}/sombra")
        # Even if one got there (root plants it here), the activator never follows it.
        sh(lab, name, f"sudo ln -sfn /etc/shadow {JAIL}/incoming/{cut}/index.html")
        verdict = jail.mark(cut)
    finally:
        jail.close()
    assert verdict["resultado"] == "rechazado" and "symlink" in verdict["motivo"], verdict
    assert served_digests(lab, name) == before
    assert "root:" not in sh(lab, name, "sudo cat /srv/prep/current/index.html")


def test_push_killed_mid_upload_changes_nothing(pipe):
    lab, name = pipe.lab, "difusor-1"
    cut = "20210606_2020_PREP_AYUN_COAH"
    files = site(n_actas=800, seed=b"3", size=100_000)  # ~80 MB: long enough to cut off
    folder = make_cut(pipe.dir, cut, files)
    before = served_digests(lab, name)
    proc = subprocess.Popen([str(Path(sys.executable).with_name("prep-iac")), "publish",
                             str(folder), "-i", str(lab.inventory_path), "-d", name,
                             "--sessions", "1", "--ledger", str(pipe.dir / "killed.sqlite")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    jail = Jail(pipe.registry, name)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # kill as soon as the first files arrive
            try:
                if jail.sftp.listdir(f"/incoming/{cut}/actas"):
                    break
            except OSError:
                pass
            time.sleep(0.01)
        os.killpg(proc.pid, signal.SIGKILL)  # the publisher and its per-difusor pushes
        proc.wait(timeout=10)
        assert not any(n.endswith(".listo") for n in jail.sftp.listdir("/incoming"))
    finally:
        jail.close()
        if proc.poll() is None:
            proc.kill()
    # sshd still works off the requests the killed client had pipelined: wait for the IEC
    # account's sessions to end before judging what is left.
    for _ in range(60):
        if not sh(lab, name, "pgrep -u iec || true").strip():
            break
        time.sleep(0.5)
    assert current(lab, name) == f"cortes/{B}"
    assert served_digests(lab, name) == before
    # The sweep drops the abandoned upload once stale by root's clock (not the uploader's
    # mtimes: dating them back changes nothing), and says so.
    sh(lab, name, f"sudo find {JAIL}/incoming -mindepth 1 -maxdepth 1 -exec touch -h -d "
                  "'-2 hours' {} + && sudo systemctl start prep-activator-sweep.service")
    assert sh(lab, name, f"sudo ls -A {JAIL}/incoming").strip() != ""
    age_jail_entries(lab, name, 2 * 3600)
    sh(lab, name, "sudo systemctl start prep-activator-sweep.service")
    assert f"refused {cut}: incomplete upload" in journal(lab, name, "prep-activator")
    assert sh(lab, name, f"sudo ls -A {JAIL}/incoming").strip() == ""
    # The next push of the same cut goes through.
    r = push(dataclasses.replace(pipe.registry, difusores=tuple(
        d for d in pipe.registry.difusores if d.name == name)), folder, pipe.ledger)[name]
    assert r.result == "activated", r
    assert served_digests(lab, name) == local_digests(folder)


def test_full_disk_refuses_and_keeps_serving(pipe):
    lab, name = pipe.lab, "difusor-2"
    cut = "20210606_2030_PREP_AYUN_COAH"
    folder = make_cut(pipe.dir, cut, site(n_actas=100, seed=b"4", size=100_000))
    before = served_digests(lab, name)
    # A small filesystem over /srv/prep holding exactly what is served, plus 16 MB.
    used_kb = int(sh(lab, name, "sudo du -sk /srv/prep").split()[0])
    sh(lab, name, "sudo mkdir -p /run/prep-full && sudo cp -a /srv/prep/. /run/prep-full/ && "
                  f"sudo mount -t tmpfs -o size={used_kb + 16384}k tmpfs /srv/prep && "
                  "sudo cp -a /run/prep-full/. /srv/prep/")
    try:
        only = dataclasses.replace(pipe.registry, difusores=tuple(
            d for d in pipe.registry.difusores if d.name == name))
        r = push(only, folder, pipe.ledger)[name]
        assert r.result == "refused" and "disk full" in r.reason, r
        assert current(lab, name) == f"cortes/{B}"
        assert served_digests(lab, name) == before
        assert f"refused {cut}: disk full" in journal(lab, name, "prep-activator")
    finally:
        sh(lab, name, "sudo umount /srv/prep; sudo rm -rf /run/prep-full", check=False)
    assert served_digests(lab, name) == before


def test_host_key_mismatch_refuses_to_push(pipe):
    d1, d2 = (next(d for d in pipe.registry.difusores if d.name == n)
              for n in ("difusor-1", "difusor-2"))
    wrong = dataclasses.replace(d1, host_key=d2.host_key)  # difusor-2's key pinned for -1
    reg = dataclasses.replace(pipe.registry, difusores=(wrong, d2))
    folder = make_cut(pipe.dir, "20210606_2035_PREP_AYUN_COAH", site(seed=b"5"))
    results = push(reg, folder, new_ledger(pipe.dir / "mismatch", reg))
    assert results["difusor-1"].result == "failed"
    assert "host key mismatch" in results["difusor-1"].reason
    assert results["difusor-1"].sent_bytes == 0
    assert results["difusor-2"].result == "activated"


def test_difusor_down_three_periods_is_suspended_then_returns(pipe):
    lab, reg = pipe.lab, pipe.registry
    ledger = new_ledger(pipe.dir / "suspension", reg)
    lista = pipe.dir / "lista"
    folder = make_cut(pipe.dir, "20210606_2040_PREP_AYUN_COAH", site(seed=b"6"))
    lab.stop_host("difusor-3")
    try:
        for period in range(3):
            start = time.monotonic()
            results = push(reg, folder, ledger, list_dir=lista, timeout=3.0)
            assert results["difusor-3"].result == "failed"
            for other in ("difusor-1", "difusor-2"):
                assert results[other].result == "activated", results[other]
                assert results[other].seconds < 15  # not held up by the dead one
            expected = "suspended" if period == 2 else "active"
            assert ledger.state("difusor-3") == expected
            time.sleep(max(0.0, reg.period_s + 0.2 - (time.monotonic() - start)))
        page = json.loads((lista / "difusores.json").read_text())["difusores"]
        d3 = next(d for d in page if d["nombre"] == "difusor-3")
        assert d3["url"] is None and d3["estado"] == "suspendido"
        assert "http://10.85.0.13/" not in (lista / "difusores.html").read_text()
        assert listpage.SUSPENDED_NOTICE.split(":")[0] in (lista / "difusores.html").read_text()
    finally:
        lab.start_host("difusor-3")
    results = push(reg, folder, ledger, list_dir=lista)
    assert results["difusor-3"].result == "activated", results["difusor-3"]
    assert ledger.state("difusor-3") == "active"
    page = json.loads((lista / "difusores.json").read_text())["difusores"]
    assert next(d for d in page if d["nombre"] == "difusor-3")["url"]


def test_publisher_service_publishes_a_dropped_cut(pipe):
    lab = pipe.lab
    cut = "20210606_2050_PREP_AYUN_COAH"
    folder = make_cut(pipe.dir, cut, site(seed=b"7"))
    drop = "/srv/prep-publisher/entrada"
    ssh_cfg = str(lab.ssh_config_path)
    subprocess.run(["scp", "-q", "-r", "-F", ssh_cfg, str(folder), "publisher-1:/tmp/"],
                   check=True, timeout=120)
    # The IEC copies a cut in under a dot name and renames it when complete.
    sh(lab, "publisher-1", f"sudo cp -r /tmp/{cut} {drop}/.{cut} && "
                           f"sudo chown -R prep-publisher: {drop}/.{cut} && "
                           f"sudo mv {drop}/.{cut} {drop}/{cut}")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if all(current(lab, n) == f"cortes/{cut}" for n in difusores(pipe)):
            break
        time.sleep(1)
    for n in difusores(pipe):
        assert current(lab, n) == f"cortes/{cut}"
        assert served_digests(lab, n) == local_digests(folder)
    log = journal(lab, "publisher-1", "prep-publisher")
    assert f"pushed {cut} to difusor-1: activated" in log
    page = json.loads(sh(lab, "publisher-1",
                         "sudo cat /var/lib/prep-publisher/lista/difusores.json"))
    assert {d["nombre"] for d in page["difusores"]} == set(difusores(pipe))
    status = sh(lab, "publisher-1", "sudo -u prep-publisher /opt/prep-publisher/venv/bin/"
                                    "prep-iac status --registry /etc/prep-publisher/registry.json"
                                    " --json")
    rows = {r["difusor"]: r for r in json.loads(status)}
    assert rows["difusor-1"]["confirmed_cut"] == cut and rows["difusor-1"]["contact"]


def test_conformance_suite_passes_on_the_lab(pipe):
    """The host checks of prep_iac/conformance/suites/test_pipeline.py, on a difusor and the
    publisher after everything above."""
    from prep_iac.inventory import load_inventory

    inv = load_inventory(pipe.lab.inventory_path)
    hosts = ",".join(f"ssh://prepadmin@{h.address}"
                     for h in (inv.difusores["difusor-1"], inv.publishers["publisher-1"]))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "prep_iac/conformance/suites/test_pipeline.py", f"--hosts={hosts}",
         f"--ssh-config={pipe.lab.ssh_config_path}", "--sudo",
         f"--prep-inventory={pipe.lab.inventory_path}"],
        cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "12 passed" in proc.stdout, proc.stdout[-2000:]


def test_status_reads_the_publishers_ledger_remotely(pipe):
    proc = subprocess.run([str(Path(sys.executable).with_name("prep-iac")), "status", "-i",
                           str(pipe.lab.inventory_path), "--remote", "--json"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    rows = {r["difusor"]: r for r in json.loads(proc.stdout)}
    assert rows["difusor-1"]["confirmed_cut"] == "20210606_2050_PREP_AYUN_COAH"
    assert rows["difusor-1"]["state"] == "active"
    assert rows["difusor-1"]["contact"]["phone"]


def test_hostile_entries_in_the_jail_do_not_stop_a_valid_cut(pipe):
    """Issue 17: a folder named like a marker (an invalid cut id, dated 1970 so it sorts
    first), a folder named like a valid cut's marker, and junk dated 2100, all made through
    the real SFTP jail; a valid cut pushed after them is still activated."""
    lab, name = pipe.lab, "difusor-1"
    cut = "20210606_2100_PREP_AYUN_COAH"  # after every other test's cut
    hostile = "20210606_2055_PREP_AYUN_COAH"
    jail = Jail(pipe.registry, name)
    try:
        # Built under another name, then renamed into a marker's (the path unit fires on it).
        jail.put("/incoming/armando/dentro/x.bin", b"x" * 1000)
        jail.sftp.utime("/incoming/armando", (1, 1))
        jail.sftp.posix_rename("/incoming/armando", "/incoming/no es un corte.listo")
        jail.sftp.mkdir(f"/incoming/{hostile}.listo")
        jail.put("/incoming/basura\nfalsa", b"y" * 1000)
        jail.sftp.utime("/incoming/basura\nfalsa", (4102444800, 4102444800))
        files = site(seed=b"8")
        jail.upload_cut(cut, files, key=Path(pipe.registry.signing_key))
        verdict = jail.mark(cut)
    finally:
        jail.close()
    assert verdict["resultado"] == "activado", verdict
    assert current(lab, name) == f"cortes/{cut}"
    assert served_digests(lab, name) == {p: _sha(d) for p, d in files.items()}
    log = journal(lab, name, "prep-activator")
    assert "refused 'no\\x20es\\x20un\\x20corte.listo': invalid cut id" in log, log
    assert f"refused {hostile}: marker {hostile}.listo is not a regular file" in log, log
    left = sh(lab, name, f"sudo find {JAIL}/incoming -mindepth 1 -maxdepth 1 -printf x")
    assert left == "x", left  # the junk alone: young by root's clock, whatever it says
    # The junk dated 2100 goes once root has seen it stale, whatever its date says.
    age_jail_entries(lab, name, 2 * 3600)
    sh(lab, name, "sudo systemctl start prep-activator-sweep.service")
    assert sh(lab, name, f"sudo ls -A {JAIL}/incoming").strip() == ""
    assert "abandoned entry" in journal(lab, name, "prep-activator")
