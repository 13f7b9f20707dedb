"""From check results to the report: statuses, waivers, exit code, the three renderings."""

import datetime as dt
import json
import re

import pytest

from prep_iac.conformance.aggregate import build_report
from prep_iac.conformance.model import (
    CUMPLE,
    DISPENSADO,
    MANUAL,
    NO_APLICA,
    NO_CUMPLE,
    CheckResult,
    Command,
)
from prep_iac.conformance.report import render_html, render_markdown, write_reports
from prep_iac.conformance.requirements import CONVOCATORIA, REQUIREMENTS
from prep_iac.conformance.waivers import EXPIRED, Waiver

FUTURE = dt.date.today() + dt.timedelta(days=30)
HOSTS = ["difusor-1", "difusor-2"]


def check(cid, req, host, status, detail="", evidence=()):
    return CheckResult(cid, [req], host, status, title=cid, detail=detail,
                       evidence=[Command(*e) for e in evidence])


def row(report, req_id):
    return next(r for r in report["requisitos"] if r["id"] == req_id)


def good():
    return [check("hardware::memoria", "CONV-II.c.1", h, CUMPLE) for h in HOSTS] + \
           [check("os::linux", "CONV-II.c.3", h, CUMPLE) for h in HOSTS]


def everything_else_waived() -> list[Waiver]:
    """The Institute's dispensas for every requirement the tests' results leave unproven."""
    return [Waiver(r.id, "evidencia recibida", "IEC", FUTURE) for r in CONVOCATORIA
            if r.mandatory and r.id not in ("CONV-II.c.1", "CONV-II.c.3")]


def test_all_met_exit_zero_and_one_row_per_requirement():
    report = build_report("verify", HOSTS, good(), everything_else_waived())
    assert report["exit_code"] == 0 and report["incumplidos"] == []
    assert report["evidencia_pendiente"] == []
    assert len(report["requisitos"]) == len(REQUIREMENTS) == 28 + 4  # + the informative rows
    assert row(report, "CONV-II.c.1")["estado"] == CUMPLE


def test_owed_evidence_fails_strict_and_is_reported_when_not_strict():
    for strict in (True, False):
        report = build_report("verify", HOSTS, good(), [], strict=strict)
        assert report["incumplidos"] == [] and report["estricto"] is strict
        assert report["exit_code"] == (1 if strict else 0)
        assert "CONV-VI" in report["evidencia_pendiente"]
        assert "memoria" in " ".join(row(report, "CONV-VI")["evidencia_pendiente"])
        # What only the other command proves is listed, never failed here.
        assert "CONV-I.2" not in report["evidencia_pendiente"]
        assert "CONV-I.2" in report["pendiente_otro_informe"]
    assert row(report, "CONV-II.c.1")["estado"] == CUMPLE
    report = build_report("verify", HOSTS, good(), [], strict=False)
    # Nothing checked it here: the other report or manual evidence is asked for.
    vi = row(report, "CONV-VI")
    assert vi["estado"] == MANUAL and "memoria" in vi["hosts"]["difusor-1"]["evidencia_solicitada"]
    i2 = row(report, "CONV-I.2")["hosts"]["difusor-1"]["evidencia_solicitada"]
    assert "prep-iac audit" in i2


def test_one_failing_host_fails_the_requirement_and_the_exit_code():
    results = good() + [check("hardware::nucleos", "CONV-II.c.1", "difusor-2", NO_CUMPLE,
                              "1 núcleo(s)", [("nproc", 0, "1")])]
    report = build_report("verify", HOSTS, results, [])
    r = row(report, "CONV-II.c.1")
    assert r["estado"] == NO_CUMPLE
    assert r["hosts"]["difusor-1"]["estado"] == CUMPLE
    assert r["hosts"]["difusor-2"]["estado"] == NO_CUMPLE
    assert report["exit_code"] == 1 and report["incumplidos"] == ["CONV-II.c.1"]


def test_optional_and_informative_requirements_do_not_fail_the_exit_code():
    results = good() + [check("web::ha", "CONV-II.a.2", "difusor-1", NO_CUMPLE),
                        check("os::distribucion_soportada", "INF-soporte", "difusor-1",
                              NO_CUMPLE, "Rocky Linux 9")]
    report = build_report("verify", HOSTS, results, everything_else_waived())
    assert row(report, "CONV-II.a.2")["estado"] == NO_CUMPLE
    assert row(report, "INF-soporte")["estado"] == NO_CUMPLE
    assert report["exit_code"] == 0


def test_not_applicable_and_manual_on_a_mandatory_requirement_owe_evidence():
    """No pass by omission: "no aplica" on a difusor becomes "manual" with what is owed."""
    results = good() + [check("x::na", "CONV-II.e", h, NO_APLICA, "en un contenedor")
                        for h in HOSTS] + \
        [check("redundancy::fuente", "CONV-II.c.2", h, MANUAL, "sin IPMI") for h in HOSTS]
    waivers = [w for w in everything_else_waived() if w.id not in ("CONV-II.e", "CONV-II.c.2")]
    strict = build_report("verify", HOSTS, results, waivers)
    assert row(strict, "CONV-II.e")["estado"] == MANUAL
    assert "en un contenedor" in " ".join(row(strict, "CONV-II.e")["evidencia_pendiente"])
    assert "sin IPMI" in " ".join(row(strict, "CONV-II.c.2")["evidencia_pendiente"])
    assert strict["evidencia_pendiente"] == ["CONV-II.c.2", "CONV-II.e"]
    assert strict["exit_code"] == 1 and strict["incumplidos"] == []
    working = build_report("verify", HOSTS, results, waivers, strict=False)
    assert working["evidencia_pendiente"] == ["CONV-II.c.2", "CONV-II.e"]
    assert working["exit_code"] == 0
    # The rendered verdicts say which evidence is owed and whether the Institute accepts it.
    assert "Evidencia pendiente de requisitos obligatorios: CONV-II.c.2, CONV-II.e (modo " \
        "estricto" in render_markdown(strict)
    assert "--no-estricto: el IEC no lo acepta" in render_html(working)
    assert "Evidencia pendiente: difusor-1: x::na" in render_html(strict)


def test_not_applicable_beside_a_proof_of_the_same_requirement_owes_nothing():
    """The byte budget proves the jail bounded; its own filesystem "does not apply" in a
    container: a note beside the proof, not evidence owed. Alone, it would be owed."""
    proof = [check("pipeline::almacenamiento_del_jail", "CONV-II.a.1", h, CUMPLE)
             for h in HOSTS if h == "difusor-1"]
    note = [check("pipeline::incoming_en_disco_propio", "CONV-II.a.1", h, NO_APLICA,
                  "sin dispositivos loop") for h in HOSTS]
    waivers = [w for w in everything_else_waived() if w.id != "CONV-II.a.1"]
    report = build_report("verify", HOSTS, good() + proof + note, waivers)
    cells = row(report, "CONV-II.a.1")["hosts"]
    assert cells["difusor-1"]["estado"] == CUMPLE
    assert cells["difusor-2"]["estado"] == MANUAL  # nothing else proves it there
    assert "nada más prueba CONV-II.a.1" in " ".join(row(report, "CONV-II.a.1")[
        "evidencia_pendiente"])
    assert report["evidencia_pendiente"] == ["CONV-II.a.1"]


def test_a_check_meant_for_the_other_role_owes_nothing():
    results = good() + [check("pipeline::publicador_cada_periodo", "CONV-III.1", h, NO_APLICA,
                              "difusor-1 es un difusor; esta comprobación es para publicadores")
                        for h in HOSTS]
    waivers = [w for w in everything_else_waived() if w.id != "CONV-III.1"]
    report = build_report("verify", HOSTS, results, waivers)
    assert row(report, "CONV-III.1")["estado"] == NO_APLICA
    assert report["exit_code"] == 0


def test_invalid_waiver_is_shown_and_does_not_count():
    results = good() + [check("redundancy::disco_redundante", "CONV-II.c.2", h, NO_CUMPLE,
                              "sin RAID") for h in HOSTS]
    expired = Waiver("CONV-II.c.2", "contenedor", "lab", FUTURE, status=EXPIRED,
                     why="venció el 2021-01-01")
    report = build_report("verify", HOSTS, results, [expired])
    assert row(report, "CONV-II.c.2")["estado"] == NO_CUMPLE
    assert row(report, "CONV-II.c.2")["dispensa"] is None
    assert report["dispensas"][0]["estado"] == EXPIRED
    assert report["dispensas"][0]["usada"] is False and report["exit_code"] == 1


def test_waiver_turns_failure_into_dispensado_and_stays_visible():
    results = good() + [check("redundancy::disco_redundante", "CONV-II.c.2", h, NO_CUMPLE,
                              "sin RAID") for h in HOSTS]
    waiver = Waiver("CONV-II.c.2", "contenedor", "lab", FUTURE)
    others = [w for w in everything_else_waived() if w.id != "CONV-II.c.2"]
    report = build_report("verify", HOSTS, results, [waiver, *others])
    r = row(report, "CONV-II.c.2")
    assert r["estado"] == DISPENSADO and r["dispensa"]["reason"] == "contenedor"
    waived = [c for c in report["comprobaciones"] if c["status"] == DISPENSADO]
    assert len(waived) == 2 and waived[0]["waiver"]["estado_original"] == NO_CUMPLE
    assert waived[0]["detail"] == "sin RAID"
    assert report["exit_code"] == 0 and report["dispensas"][0]["usada"]


def test_check_waiver_for_one_host_only():
    results = good() + [check("hardware::disco", "CONV-II.c.1", h, NO_CUMPLE) for h in HOSTS]
    waiver = Waiver("hardware::disco", "lab", "lab", FUTURE, ("difusor-1",))
    report = build_report("verify", HOSTS, results, [waiver])
    r = row(report, "CONV-II.c.1")
    assert r["hosts"]["difusor-1"]["estado"] == DISPENSADO
    assert r["hosts"]["difusor-2"]["estado"] == NO_CUMPLE
    assert report["exit_code"] == 1


def test_unused_waiver_is_reported_unused():
    report = build_report("verify", HOSTS, good(), [Waiver("hardware::disco", "x", "y", FUTURE)])
    assert report["dispensas"][0]["usada"] is False


def test_renderings(tmp_path):
    results = good() + [check("hardware::nucleos", "CONV-II.c.1", "difusor-2", NO_CUMPLE,
                              "1 núcleo <script>", [("nproc", 0, "1\n```")])]
    report = build_report("verify", HOSTS, results,
                          [Waiver("CONV-VI", "después de la elección", "IEC", FUTURE)],
                          {"inventario": "x.yml", "inventario_nombre": "x"})
    paths = write_reports(report, tmp_path)
    data = json.loads(paths["json"].read_text())
    assert data["exit_code"] == 1 and data["requisitos"][0]["id"] == "CONV-I.1"
    html = paths["html"].read_text()
    assert "<script>" not in html and "1 núcleo &lt;script&gt;" in html
    # Self-contained: no external stylesheet, script, image or font.
    assert not re.search(r"(src|href)=\"?(https?:)?//", html)
    assert 'id="CONV-II.c.1" data-estado="no cumple"' in html
    assert 'lang="es"' in html and "dispensado" in html
    md = paths["md"].read_text()
    assert "| CONV-II.c.1 Disco 100 GB, RAM 8 GB, 2 núcleos | no cumple | cumple | no cumple |" in md
    assert "$ nproc   # rc=0" in md and "````" in md  # a fence inside output stays inside
    assert render_markdown(report) == md and render_html(report) == html


@pytest.mark.parametrize("status", [CUMPLE, NO_CUMPLE, NO_APLICA, MANUAL, DISPENSADO])
def test_every_status_renders(status):
    results = [check("hardware::memoria", "CONV-II.c.1", "difusor-1", status)]
    report = build_report("audit", ["difusor-1"], results, [], {"objetivo": "http://x/"})
    assert f"st-{status.replace(' ', '-')}" in render_html(report)
