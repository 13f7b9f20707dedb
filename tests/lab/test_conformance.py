"""Conformance on a real lab difusor: deployed and fed a signed cut, it verifies clean (with
the lab's waivers) and audits clean; then one fault at a time turns exactly the right
requirement to "no cumple", with evidence naming the cause, and the exit code says so.

    PREP_LAB_NAME=conf PREP_LAB_SUBNET=10.86.0.0/24 PREP_LAB_DIFUSORES=1 \
        PREP_LAB_PUBLISHERS=1 .venv/bin/pytest -m lab tests/lab/test_conformance.py

The publisher host is only named (its keys sign and push the cuts from this machine, as
the IEC would); it needs no deploy.
"""

from __future__ import annotations

import dataclasses
import json
import os
import ssl
import subprocess
import sys
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conformance import faults
from conformance.chromium import dump_dom
from conformance.reports import causes, failing, status, summary
from pipeline.helpers import time_csv

from prep_iac.conformance.audit.run import audit
from prep_iac.conformance.verify import verify
from prep_iac.conformance.waivers import sign_file
from prep_iac.inventory import load_inventory
from prep_iac.onhost.publisher.ledger import Ledger
from prep_iac.onhost.publisher.run import prepare, publish
from prep_iac.publish.registry import from_inventory

pytestmark = pytest.mark.lab
REPO = Path(__file__).resolve().parents[2]
HOST = "difusor-1"


def cut_id(n: int) -> str:
    """The n-th cut of the night: 19:00, 19:10, … (before the pipeline tests' 20:00 cuts,
    which share the session's lab)."""
    minutes = 19 * 60 + 10 * n
    return f"20210606_{minutes // 60:02d}{minutes % 60:02d}_PREP_AYUN_COAH"


def deploy(lab, deploy_file: str) -> None:
    pyinfra = str(Path(sys.executable).with_name("pyinfra"))
    env = {**os.environ, "PREP_INVENTORY": str(lab.inventory_path)}
    proc = subprocess.run([pyinfra, "-y", str(REPO / "inventories" / "env.py"),
                           str(REPO / deploy_file)], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=1800, check=False)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]


def make_cut(root: Path, cut_id: str) -> Path:
    folder = root / cut_id
    files = {"index.html": f"<h1>PREP {cut_id}</h1>".encode(),
             "COAH_AYUN_2021.csv": time_csv(cut_id) * 400,
             "actas/0001.jpg": cut_id.encode() * 4000}
    for rel, data in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
    return folder


class Conformance(SimpleNamespace):
    """The lab difusor under test and how to check it."""

    def push(self) -> None:
        """Push the next cut, as the IEC does, and wait until it is the one published."""
        self.pushed = getattr(self, "pushed", -1) + 1
        cut = cut_id(self.pushed)
        signed = prepare(make_cut(self.dir, cut), cut, self.registry)
        results = publish(self.registry, signed, self.ledger, timeout=10.0,
                          activation_timeout=60.0)
        assert [r.result for r in results] == ["activated"], results
        self.manifest = self.dir / f"{cut}.manifiesto.json"
        self.manifest.write_bytes(signed.data)
        Path(str(self.manifest) + ".sig").write_bytes(signed.signature)
        self.cut = cut
        faults.wait_for(lambda: self.published() == (cut, "publicando"),
                        f"{cut} published with the notice off", timeout=30)

    def published(self) -> tuple[str, str]:
        with urllib.request.urlopen(self.https_url + "estado.json", timeout=5,
                                    context=self.context) as resp:
            data = json.loads(resp.read())
        return data.get("corte"), data.get("estado")

    def verify(self, waivers: Path | None = None, tag: str = "verify") -> dict:
        report, _ = verify(self.lab.inventory_path, limit=HOST,
                           waivers_path=waivers or self.lab.waivers_path,
                           out_dir=self.dir / tag)
        return report

    def audit(self, tag: str = "audit") -> dict:
        report, _ = audit(self.url, out_dir=self.dir / tag, waivers_path=self.lab.waivers_path,
                          registry=str(self.lab.inventory_path), manifest_path=self.manifest,
                          ca_file=str(self.ca))
        return report


@pytest.fixture(scope="module")
def conf(lab, tmp_path_factory):
    if not any(n.startswith("publisher-") for n in lab.hosts):
        pytest.fail("the IEC's keys come from a publisher of the inventory: "
                    "PREP_LAB_PUBLISHERS=1", pytrace=False)
    deploy(lab, "deploys/difusor.py")
    inventory = load_inventory(lab.inventory_path)
    difusor = inventory.difusores[HOST]
    ca = lab.inventory_path.with_suffix(".lab-ca") / "ca.pem"
    tmp = tmp_path_factory.mktemp("conf")
    # This module judges one difusor; the session's lab may have more, which it leaves alone.
    full = from_inventory(inventory)
    registry = dataclasses.replace(full, difusores=tuple(d for d in full.difusores
                                                         if d.name == HOST))
    c = Conformance(lab=lab, dir=tmp, registry=registry, ca=ca,
                    ledger=Ledger(tmp / "ledger.sqlite", registry.period_s),
                    url=difusor.public_url, context=ssl.create_default_context(cafile=str(ca)))
    c.https_url = f"https://{difusor.address}/"
    c.push()
    return c


def test_clean_difusor_verifies_and_audits_clean(conf):
    report = conf.verify()
    assert report["exit_code"] == 0, summary(report)
    assert status(report, "CONV-II.c.2") == "dispensado"
    assert status(report, "CONV-II.c.3") == "cumple"
    outside = conf.audit()
    assert outside["exit_code"] == 0, summary(outside)
    for req in ("CONV-I.2", "CONV-I.3", "CONV-I.6", "CONV-I.10", "CONV-II.a.1", "CONV-II.d.1",
                "CONV-II.d.2"):
        assert status(outside, req) == "cumple", (req, causes(outside, req))
    # The firewall's and the filter's rows are proven by behaviour from outside too.
    checks = {c["check"]: c["status"] for c in outside["comprobaciones"]}
    assert checks["audit::limite_solicitudes"] == "cumple", summary(outside)
    assert checks["audit::filtro_web"] == "cumple", summary(outside)


def test_report_renders_in_chromium(conf):
    conf.verify(tag="render")
    dom = dump_dom((conf.dir / "render" / "conformance.html").as_uri())
    assert 'id="CONV-II.c.1"' in dom and 'id="CONV-VI"' in dom
    assert "Informe de conformidad" in dom and "dispensado" in dom


def test_stopped_nginx(conf):
    with faults.nginx_stopped(conf.lab, HOST):
        report = conf.verify(tag="nginx")
    assert report["exit_code"] == 1
    # Nothing is served: free access fails on the cause (nginx inactive), and the two
    # requirements proven by asking the live server (portal page, cut header) with it.
    assert failing(report) == {"CONV-I.2", "CONV-I.6", "CONV-I.10"}, summary(report)
    assert "systemctl is-active nginx -> inactive" in causes(report, "CONV-I.2")


def test_open_port(conf):
    with faults.port_opened(conf.lab, HOST) as port:
        report = conf.audit(tag="port")
        inside = conf.verify(tag="port-inside")
    assert report["exit_code"] == 1
    assert failing(report) == {"CONV-II.d.1"}, summary(report)
    assert f"puertos abiertos no esperados: {port}" in causes(report, "CONV-II.d.1")
    assert failing(inside) <= {"CONV-II.d.1"}, summary(inside)


def test_password_ssh(conf):
    with faults.password_ssh(conf.lab, HOST):
        report = conf.verify(tag="password")
    assert report["exit_code"] == 1
    assert failing(report) == {"CONV-IV.1"}, summary(report)
    assert "passwordauthentication" in causes(report, "CONV-IV.1").lower()


def test_changed_served_file(conf):
    with faults.served_file_changed(conf.lab, HOST, "COAH_AYUN_2021.csv") as rel:
        report = conf.audit(tag="changed")
    assert report["exit_code"] == 1
    assert failing(report) == {"CONV-I.3"}, summary(report)
    assert f"{rel}: sha256" in causes(report, "CONV-I.3")


def test_frame_ancestors_removed(conf):
    with faults.frame_ancestors_removed(conf.lab, HOST, conf.https_url, conf.context):
        report = conf.audit(tag="framing")
    assert report["exit_code"] == 1
    assert failing(report) == {"CONV-I.6"}, summary(report)
    assert "frame-ancestors" in causes(report, "CONV-I.6")


def test_web_filter_removed(conf):
    """Proven by behaviour: without the filter the audit's attack probes are served."""
    with faults.web_filter_removed(conf.lab, HOST, conf.https_url, conf.context):
        report = conf.audit(tag="waf")
    assert report["exit_code"] == 1
    assert failing(report) == {"CONV-II.d.2"}, summary(report)
    assert "inyección SQL: respondió 200" in causes(report, "CONV-II.d.2")


def test_stale_cut(conf):
    with faults.cut_gone_stale(conf.lab, HOST, restore=conf.push):
        report = conf.audit(tag="stale")
    assert report["exit_code"] == 1
    assert failing(report) == {"CONV-I.10"}, summary(report)
    assert "corte vencido" in causes(report, "CONV-I.10") or \
        "aviso de interrupción" in causes(report, "CONV-I.10")
    fresh = conf.audit(tag="fresh")
    assert fresh["exit_code"] == 0, summary(fresh)


def test_removed_waiver(conf):
    data = yaml.safe_load(conf.lab.waivers_path.read_text())
    data["waivers"] = [w for w in data["waivers"] if w["id"] != "CONV-II.c.2"]
    fewer = conf.dir / "waivers-sin-II.c.2.yml"
    fewer.write_text(yaml.safe_dump(data, allow_unicode=True))
    sign_file(fewer, conf.lab.iec_signing_key)  # the Institute signs the new set
    report = conf.verify(waivers=fewer, tag="waiver")
    assert report["exit_code"] == 1
    assert failing(report) == {"CONV-II.c.2"}, summary(report)
    assert "no se detecta disco redundante" in causes(report, "CONV-II.c.2")


def test_a_moved_date_needs_the_calendar_deploy_alone(conf, tmp_path):
    """deploys/calendar.py writes every file the dates reach (the drill sets its night with
    it): on a copy of the inventory whose PREP opens tomorrow, it changes the difusor, and
    the full deploy then finds nothing left to change. The lab's own dates go back after."""
    from prep_iac.lab.ca import share_ca
    from prep_iac.pyinfra_run import run_deploy
    from prep_iac.simulacro.setup import drill_inventory

    lab_inventory = conf.lab.inventory_path
    period = load_inventory(lab_inventory).iec.period_s
    moved = drill_inventory(lab_inventory, tmp_path, period, ha=False)  # same period, new dates
    share_ca(lab_inventory, moved)
    assert run_deploy(lab_inventory, "deploys/difusor.py", limit=HOST).ok  # where we start
    try:
        dates = run_deploy(moved, "deploys/calendar.py", limit=HOST)
        assert dates.ok and dates.changed > 0, dates.output[-3000:]
        full = run_deploy(moved, "deploys/difusor.py", limit=HOST)
        assert full.ok and full.changed == 0, full.output[-4000:]
    finally:
        back = run_deploy(lab_inventory, "deploys/calendar.py", limit=HOST)
        assert back.ok, back.output[-3000:]
