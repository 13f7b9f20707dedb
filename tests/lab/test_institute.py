"""The Institute checks a difusor itself, and the difusor tests its own defences (issue 19,
points 5 and 6; CONV-IV.3 and the end of base IV) on a real lab difusor:

- the Institute's read-only account (iec.auditor_keys) runs `verify` and gets the admin's
  verdicts, or "no aplica" naming the command it may not run; it cannot change anything,
  and every refused attempt is in the journal;
- `prep-iac pentest` from an address outside the admin and IEC networks gives the IV.3
  evidence, and a second source (the controller) is served during and after;
- `prep-iac continuidad ups` records the UPS on battery (the lab's dummy-ups, switched as
  the drill's ups_on_battery fault does) with the PREP served throughout.

    PREP_LAB_NAME=hpen PREP_LAB_SUBNET=10.70.0.0/24 PREP_LAB_DIFUSORES=1 \
        PREP_LAB_PUBLISHERS=1 .venv/bin/pytest -m lab tests/lab/test_institute.py

The inventory is narrowed (tests/lab/security/setup.py): admins = the controller only; IEC
sources = the controller and publisher-1. The pentest's source is an extra address on the
lab bridge (the drill's flood address), so a ban there never cuts the test's own SSH.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from conftest import deploy  # tests/lab/conftest.py
from security.setup import f2b, gateway, remove_written, sudo, wait_for, write_inventory

from prep_iac.conformance.model import CUMPLE, NO_APLICA
from prep_iac.conformance.verify import verify
from prep_iac.contract import PREP_ROOT, READER_USER, WEB_ROOT
from prep_iac.pentest.continuity import CHECK as UPS_CHECK
from prep_iac.pentest.continuity import ups_on_battery
from prep_iac.pentest.guard import Bounds
from prep_iac.pentest.run import CHECK, pentest, write
from prep_iac.simulacro.flood import extra_address

pytestmark = pytest.mark.lab
REPO = Path(__file__).resolve().parents[2]
DIFUSOR_DEPLOY = REPO / "deploys" / "difusor.py"
HOST = "difusor-1"


@pytest.fixture(scope="module")
def site(lab, tmp_path_factory):
    """difusor-1 deployed twice with the Institute's read-only account."""
    tmp = tmp_path_factory.mktemp("institute")
    key = tmp / "iec-lector"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "iec-lector-lab",
                    "-f", str(key)], check=True)
    gw = gateway(lab.spec.subnet)
    inventory = write_inventory(lab, "institute", admins=[f"{gw}/32"],
                                iec=[f"{gw}/32", f"{lab.hosts['publisher-1']}/32"])
    data = yaml.safe_load(inventory.read_text())
    data["iec"]["auditor_keys"] = [key.with_suffix(".pub").read_text().strip()]
    inventory.write_text(yaml.safe_dump(data, sort_keys=False))
    try:
        env = {"PREP_INVENTORY": str(inventory)}
        started = time.monotonic()
        first = deploy(lab, DIFUSOR_DEPLOY, limit=HOST, extra_env=env)
        assert first.ok, first.tail(60)
        second = deploy(lab, DIFUSOR_DEPLOY, limit=HOST, extra_env=env)
        assert second.ok, second.tail(60)
        print(f"deploys: {time.monotonic() - started:.0f} s", file=sys.stderr)
        yield {"lab": lab, "inventory": inventory, "key": key, "gw": gw, "tmp": tmp,
               "second": second}
    finally:
        remove_written()


def test_deploy_twice_changes_nothing_the_second_time(site):
    assert site["second"].changed == 0, site["second"].tail(60)


def as_reader(site, command: str) -> subprocess.CompletedProcess:
    lab = site["lab"]
    return subprocess.run(["ssh", "-F", str(lab.ssh_config_path), "-i", str(site["key"]),
                           "-o", "IdentitiesOnly=yes", "-o", "ControlMaster=no",
                           "-o", "ControlPath=none", f"{READER_USER}@{lab.hosts[HOST]}",
                           command], capture_output=True, text=True, timeout=60, check=False)


def test_the_institutes_account_gets_the_admins_verdicts(site):
    """Same verdict as the admin for every check it can run; "no aplica" naming the command
    (and why) for those it cannot: never a pass the admin does not get."""
    tmp = site["tmp"]
    admin, _ = verify(site["inventory"], limit=HOST, out_dir=tmp / "admin")
    started = time.monotonic()
    mine, _ = verify(site["inventory"], limit=HOST, out_dir=tmp / "iec",
                     reader_key=site["key"])
    print(f"verify as {READER_USER}: {time.monotonic() - started:.1f} s", file=sys.stderr)
    assert mine["cuenta"] == READER_USER
    theirs = {c["check"]: c for c in admin["comprobaciones"]}
    ours = {c["check"]: c for c in mine["comprobaciones"]}
    assert set(ours) == set(theirs)
    same, not_applicable, different = [], [], []
    for check, result in ours.items():
        if result["status"] == theirs[check]["status"]:
            same.append(check)
        elif result["status"] == NO_APLICA and "cuenta de lectura" in result["detail"]:
            not_applicable.append(check)
        else:
            different.append((check, theirs[check]["status"], result["status"],
                              result["detail"][:300]))
    print(f"{len(same)} same verdicts, {len(not_applicable)} no aplica: {not_applicable}",
          file=sys.stderr)
    assert not different, different
    assert len(same) >= 0.9 * len(ours), (len(same), len(ours))
    # The commands that needed root went through sudo, visibly.
    evidence = [e["command"] for c in ours.values() for e in c["evidence"]]
    assert any(e.startswith("sudo -n sshd -T") for e in evidence)


def test_the_institutes_account_cannot_change_anything_and_is_logged(site):
    lab = site["lab"]
    since = sudo(lab, HOST, "date '+%Y-%m-%d %H:%M:%S'").stdout.strip()
    attempts = {"sudo -n tee /etc/prep-x": "tee", "sudo -n systemctl stop nginx": "systemctl",
                "sudo -n /bin/sh -c id": "/bin/sh", "sudo -n cat /etc/shadow": "/etc/shadow",
                "sudo -n cat -- /etc/ssl/prep/privkey.pem": "privkey.pem"}
    for command in attempts:
        result = as_reader(site, f"echo x | {command}")
        assert result.returncode != 0, (command, result.stdout)
    for path in (f"{PREP_ROOT}/x", f"{WEB_ROOT}/x", "/etc/prep-x"):
        assert as_reader(site, f"touch {path}").returncode != 0, path
    assert as_reader(site, "id -un").stdout.strip() == READER_USER  # it did get in
    assert sudo(lab, HOST, "systemctl is-active nginx").stdout.strip() == "active"
    assert sudo(lab, HOST, f"test ! -e /etc/prep-x && test ! -e {PREP_ROOT}/x").returncode == 0
    def refusals() -> list[str]:
        journal = sudo(lab, HOST, f"journalctl -q --no-pager --since {shlex.quote(since)} "
                                  "_COMM=sudo").stdout
        return [line for line in journal.splitlines()
                if READER_USER in line and "command not allowed" in line]

    # journald may take a moment to show the last lines.
    logged = wait_for(lambda: len(refusals()) >= len(attempts) and refusals(), timeout=15,
                      what="the refusals in the journal")
    for command, word in attempts.items():
        assert any(word in line for line in logged), (command, logged)
    # From anywhere but the IEC's sources, the account has no way in at all.
    conf = sudo(lab, HOST, f"sshd -T -C user={READER_USER},host=x,addr=192.0.2.7").stdout
    assert "authorizedkeysfile none" in conf and "pubkeyauthentication no" in conf


def test_pentest_gives_the_iv3_evidence_and_the_difusor_keeps_serving(site):
    lab, gw = site["lab"], site["gw"]
    address = lab.hosts[HOST]
    with extra_address(lab) as source:
        try:
            started = time.monotonic()
            ev = pentest(f"https://{address}/", address, source, gw, 100,
                         Bounds(requests=1200, rate=50, seconds=60, ssh_attempts=10,
                                connections=150))
            elapsed = time.monotonic() - started
            paths = write(ev, site["tmp"] / "pentest")
            print(paths["md"].read_text(), file=sys.stderr)
        finally:
            for jail in ("prep-web-volume", "sshd", "recidive"):
                f2b(lab, HOST, f"set {jail} unbanip {source}")
    assert elapsed < 60 + 30 and ev["peticiones_usadas"] <= 1200
    assert ev["antes"] == 200
    web = ev["ataques_web"]
    assert web["bloqueados"] == web["enviados"] == len(web["respuestas"]) > 0, web
    # SSH from outside the admin and IEC networks: the firewall does not even answer.
    assert not ev["ssh"]["resultados"].get("aceptado"), ev["ssh"]
    assert ev["conexiones"]["mantenidas"] < ev["conexiones"]["pedidas"], ev["conexiones"]
    during = ev["segundo_origen_durante"]
    assert during["peticiones"] > 0 and during["servidas"] == during["peticiones"], during
    assert ev["segundo_origen_despues"] == 200
    assert ev["fila"]["status"] == CUMPLE, ev["fila"]
    # The row joins the conformance report.
    report, _ = verify(site["inventory"], limit=HOST, out_dir=site["tmp"] / "with-pentest",
                       pentest_path=paths["json"])
    iv3 = next(r for r in report["requisitos"] if r["id"] == "CONV-IV.3")
    assert iv3["hosts"][HOST]["estado"] == CUMPLE and CHECK in iv3["hosts"][HOST][
        "comprobaciones"], iv3


def test_continuity_ups_on_battery_is_recorded_like_the_pentest(site):
    lab = site["lab"]
    seq = "/etc/nut/ups.seq"  # the lab's dummy-ups reads its status here (simulacro/faults.py)
    found: dict = {}
    run = threading.Thread(target=lambda: found.update(ev=ups_on_battery(
        str(site["inventory"]), HOST, site["gw"], 60)), daemon=True)
    run.start()
    try:
        time.sleep(4)
        sudo(lab, HOST, f"sed -i 's/^ups.status:.*/ups.status: OB/' {seq}")
        time.sleep(12)
    finally:
        sudo(lab, HOST, f"sed -i 's/^ups.status:.*/ups.status: OL/' {seq}")
    run.join(timeout=90)
    ev = found["ev"]
    print(write(ev, site["tmp"] / "continuidad", "continuidad-ups")["md"].read_text(),
          file=sys.stderr)
    assert ev["en_bateria"] and ev["de_vuelta_en_linea"], ev["muestras"]
    assert all(s["servido"] == 200 for s in ev["muestras"]), ev["muestras"]
    assert ev["fila"]["status"] == CUMPLE and ev["fila"]["check"] == UPS_CHECK, ev["fila"]
    assert ev["segundos"] < 60 + 20  # it stopped once the UPS was back, not at its limit
