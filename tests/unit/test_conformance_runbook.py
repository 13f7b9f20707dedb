"""`prep-iac runbook`: the procedures name this inventory's hosts, addresses, contacts and
commands, cover before/during/after the night, and render to HTML."""

from pathlib import Path

import yaml
from examples import example_text

from prep_iac.conformance.runbook import render_html, render_markdown, write_runbook

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "inventories" / "example-difusor.yml"

SECTIONS = ["## 2. Antes de la jornada", "## 3. Durante la jornada", "### Qué significa cada alerta",
            "### Aviso de interrupción", "### Difusor suspendido", "### UPS en batería",
            "### Conmutación de alta disponibilidad", "### Inundación",
            "## 4. Después de la jornada: memoria técnica"]


def test_names_the_inventory(tmp_path):
    md = render_markdown(EXAMPLE)
    for text in SECTIONS + ["difusor-1", "203.0.113.10", "prep.example.mx", "María García",
                            "+52 844 000 0000", "innovacion@iec.org.mx",
                            f"prep-iac verify -i {EXAMPLE}",
                            "ssh mgarcia@203.0.113.10 -p 22", "upsc ups@localhost",
                            "2021-06-06 18:00", "(30 min)",
                            '--desde "2021-06-06 00:00" --hasta "2021-06-08 00:00"',
                            "refused <corte>: <motivo>", "no declara un par HA"]:
        assert text in md, text
    paths = write_runbook(EXAMPLE, tmp_path)
    html = paths["html"].read_text()
    assert "<table>" in html and "<h2>2. Antes de la jornada</h2>" in html
    assert 'lang="es"' in html and "<script" not in html


def test_ha_pair_and_hostile_text(tmp_path):
    data = yaml.safe_load(example_text(EXAMPLE))
    one = data["difusores"]["difusor-1"]
    one["contact"]["name"] = "<script>alert(1)</script>"
    two = {**one, "address": "203.0.113.11", "contact": one["contact"]}
    one["ha"] = {"peer": "difusor-2", "floating_address": "203.0.113.20/24"}
    two["ha"] = {"peer": "difusor-1", "floating_address": "203.0.113.20/24", "priority": 90}
    data["difusores"]["difusor-2"] = two
    path = tmp_path / "ha.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    md = render_markdown(path)
    assert "difusor-1 y difusor-2 comparten 203.0.113.20/24" in md
    assert "grep 203.0.113.20'" in md and "no declara un par HA" not in md
    html = render_html(md)
    assert "<script>alert" not in html and "&lt;script&gt;" in html
