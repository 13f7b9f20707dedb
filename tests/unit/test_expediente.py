"""The difusor's file (prep-iac expediente): every document from the example inventory, as
HTML and as the PDF WeasyPrint makes of that same HTML; the infrastructure sheet from facts
read on a host (canned here; tests/lab/test_expediente.py reads a real one); the inventory's
participation block and its logo refused with precise messages."""

import datetime as dt
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from examples import EXAMPLE_LOGO, example_text

from prep_iac.expediente import build, facts, sheet
from prep_iac.inventory import InventoryError, load_inventory

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "inventories" / "example-difusor.yml"
BEFORE_NOTICE = dt.datetime(2021, 5, 10, 17, 0, tzinfo=dt.UTC)

# What facts.READ prints on a Debian server with md RAID 1, a bond of two links and IPMI.
SERVER = """@@prep-ficha@@ os
Debian GNU/Linux 12 (bookworm)
Linux 6.1.0-18-amd64
@@prep-ficha@@ virt
none
@@prep-ficha@@ cpu
Intel(R) Xeon(R) Silver 4210R CPU @ 2.40GHz
8
@@prep-ficha@@ memory
16318112
max
@@prep-ficha@@ filesystem
/dev/md0 479555555840 1000 479555554840 1% /
@@prep-ficha@@ disks
{"blockdevices": [{"name": "sda", "type": "disk", "size": 480103981056, "model": "SSD A"},
 {"name": "sdb", "type": "disk", "size": 480103981056, "model": "SSD B"}]}
@@prep-ficha@@ mdstat
Personalities : [raid1]
md0 : active raid1 sdb1[1] sda1[0]
      468717568 blocks super 1.2 [2/2] [UU]
@@prep-ficha@@ lvm
@@prep-ficha@@ links
[{"ifname": "lo", "operstate": "UNKNOWN"}, {"ifname": "eno1", "operstate": "UP"},
 {"ifname": "eno2", "operstate": "UP"},
 {"ifname": "bond0", "operstate": "UP", "linkinfo": {"info_kind": "bond"}}]
@@prep-ficha@@ bonding
== /proc/net/bonding/bond0
Bonding Mode: fault-tolerance (active-backup)
Slave Interface: eno1
MII Status: up
Slave Interface: eno2
MII Status: up
@@prep-ficha@@ power
ipmi PS1 Status       | 70h | ok  | 10.1 | Presence detected
ipmi PS2 Status       | 71h | ok  | 10.2 | Presence detected
@@prep-ficha@@ services
nftables active
fail2ban active
nut-monitor active
keepalived inactive
"""

# A systemd-nspawn lab host: 2 cores, 1 GiB, the host's filesystem, a veth.
CONTAINER = """@@prep-ficha@@ os
Debian GNU/Linux 12 (bookworm)
Linux 6.1.0-18-amd64
@@prep-ficha@@ virt
systemd-nspawn
@@prep-ficha@@ cpu
AMD EPYC
2
@@prep-ficha@@ memory
65000000
1073741824
@@prep-ficha@@ filesystem
/dev/vda1 200000000000 1 1 1% /
@@prep-ficha@@ disks
{}
@@prep-ficha@@ mdstat
@@prep-ficha@@ lvm
@@prep-ficha@@ links
[{"ifname": "host0", "operstate": "UP", "link_type": "ether"}]
@@prep-ficha@@ bonding
@@prep-ficha@@ power
ipmi none
@@prep-ficha@@ services
nftables active
fail2ban inactive
nut-monitor active
keepalived inactive
"""


def _state(rows, item):
    return next(r for r in rows if r.item == item).state


def test_a_server_with_raid_bond_and_two_supplies_meets_section_ii():
    f = facts.parse("difusor-1", SERVER)
    assert f.read and f.container is None and f.cores == 8 and f.bonds == {"bond0": (2, 2)}
    rows = sheet.host_rows("difusor-1", load_inventory(EXAMPLE).difusores["difusor-1"], f)
    for item in ("Procesador", "Memoria RAM", "Disco", "Disco redundante",
                 "Tarjeta de red redundante", "Fuente de poder redundante",
                 "Sistema operativo", "Firewall", "Detector de intrusos", "UPS", "Enlace web"):
        assert _state(rows, item) == sheet.CUMPLE, item
    assert _state(rows, "Planta de emergencia") == sheet.NO_VISIBLE
    assert not sheet.to_assess({"difusor-1": rows})


def test_a_container_says_what_it_cannot_show_and_what_falls_short():
    f = facts.parse("difusor-1", CONTAINER)
    assert f.container == "systemd-nspawn" and f.memory_limit_bytes == 2**30
    rows = sheet.host_rows("difusor-1", load_inventory(EXAMPLE).difusores["difusor-1"], f)
    for item in ("Disco", "Disco redundante", "Tarjeta de red redundante",
                 "Fuente de poder redundante"):
        row = next(r for r in rows if r.item == item)
        assert row.state == sheet.NO_VISIBLE and "contenedor (systemd-nspawn)" in row.note
    assert _state(rows, "Memoria RAM") == sheet.NO_CUMPLE  # the cgroup's 1 GiB, not the host's
    assert _state(rows, "Detector de intrusos") == sheet.NO_CUMPLE
    assessed = [r.item for _, r in sheet.to_assess({"difusor-1": rows})]
    assert assessed == ["Memoria RAM", "Detector de intrusos"]


def test_text_from_the_host_is_one_clean_line():
    f = facts.parse("h", SERVER.replace("Debian GNU/Linux 12 (bookworm)",
                                        "Debian\x1b[31m <b>12</b>\u202e"))
    assert f.os == "Debian <b>12</b>"


def _read(names, text=SERVER, down=()):
    return {n: facts.HostFacts(n, error="10.0.0.9:22: connection refused") if n in down
            else facts.parse(n, text) for n in names}


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("exp") / "expediente"
    inv = load_inventory(EXAMPLE)
    summary = build.build(inv, out, _read(inv.difusores), evidence_dir=out.parent,
                          now=BEFORE_NOTICE)
    return out, summary


def _pdf_text(path: Path) -> str:
    assert shutil.which("pdftotext"), "these tests read the PDF with poppler-utils' pdftotext"
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    return " ".join(text.split())


def test_every_document_is_html_and_the_pdf_of_that_html(written):
    out, summary = written
    keys = [d["clave"] for d in summary["documentos"]]
    assert keys == ["aviso", "carta", "ficha", "contactos", "logotipo", "calendario"]
    for d in summary["documentos"]:
        html = Path(d["html"]).read_text()
        assert "Diario de Ejemplo" in html and f"Folio {d['folio']}" in html
        assert "10 de mayo de 2021" in html  # the issue's date, not the clock's
        pdf = Path(d["pdf"])
        assert pdf.read_bytes().startswith(b"%PDF")
        assert d["folio"] in _pdf_text(pdf) and "10 de mayo de 2021" in _pdf_text(pdf)
    assert [d["folio"] for d in summary["documentos"]] == [f"EXP-001-0{n}" for n in range(1, 7)]
    index = (out / "index.html").read_text()
    assert all(f'href="{k}.pdf"' in index for k in keys) and (out / "index.pdf").exists()
    assert (out / "logotipo.png").read_bytes() == EXAMPLE_LOGO.read_bytes()


def test_the_notice_goes_to_the_deie_with_copy_to_the_committee(written):
    text = _pdf_text(written[0] / "aviso.pdf")
    assert "Dirección Ejecutiva de Innovación Electoral" in text
    assert "Comité Técnico Asesor" in text and "Ana Pérez Villarreal" in text
    assert "prep.example.mx" in text and "EXP-001-02" in text  # what goes with it


def test_the_letter_holds_every_clause_of_i8_ready_to_sign(written):
    text = _pdf_text(written[0] / "carta.pdf")
    for clause in ("Apegarse y cumplir con los requerimientos establecidos por el Instituto",
                   "su personal se conduzca con ética y responsabilidad cívica",
                   "Asegurar la integridad de los datos publicados",
                   "Asegurar la continuidad en la operación del sistema de publicación",
                   ("No divulgar información o datos a los cuales tenga acceso o le sean "
                    "proporcionados por el IEC")):
        assert clause in text, clause
    assert "Diario de Ejemplo" in text
    assert "Ana Pérez Villarreal Directora general Diario de Ejemplo" in text  # the signature


def test_the_contacts_of_every_stage_are_in_the_pdf(written):
    text = _pdf_text(written[0] / "contactos.pdf")
    stages = ["Instalación y pruebas", "Ejercicios y simulacros", "Operación y difusión"]
    assert [text.index(s) for s in stages] == sorted(text.index(s) for s in stages)
    contacts = load_inventory(EXAMPLE).participation.contacts
    for stage in (contacts.installation, contacts.drills, contacts.operation):
        for c in stage:
            for value in (c.name, c.role, c.phone, c.hours):
                assert value in text, value
    assert "Luis Treviño" in text.split("Operación y difusión")[1]


def test_the_sheet_and_the_calendar_in_the_pdf(written):
    out, summary = written
    ficha = _pdf_text(out / "ficha.pdf")
    assert "Intel(R) Xeon(R) Silver 4210R" in ficha and "md0 raid1 [UU]" in ficha
    assert "Solicitud de valoración" in ficha and "no se solicita valoración" in ficha
    calendar = {c["plazo"]: c["estado"] for c in summary["calendario"]}
    # Issued on 10 May: the notice, contacts and logo are in time; the rest is to come.
    assert calendar == {"calendario::aviso": "cumplido", "calendario::contactos": "cumplido",
                        "calendario::infraestructura": "pendiente",
                        "calendario::simulacros": "pendiente",
                        "calendario::logotipo": "cumplido", "calendario::memoria": "pendiente"}
    text = _pdf_text(out / "calendario.pdf")
    assert "aviso, folio EXP-001-01" in text and "falta: un informe de prep-iac verify" in text


def test_an_unreachable_host_is_not_read_and_nothing_is_invented(tmp_path):
    inv = load_inventory(EXAMPLE)
    summary = build.build(inv, tmp_path / "e", _read(inv.difusores, down={"difusor-1"}),
                          evidence_dir=tmp_path, now=BEFORE_NOTICE, pdf=False)
    rows = summary["ficha"]["difusor-1"]
    read = [r for r in rows if r["fuente"] == "leído"]
    assert read and all(r["estado"] == "no leído" and r["valor"] == "—" for r in read)
    assert summary["no_leidos"] == {"difusor-1": "10.0.0.9:22: connection refused"}
    html = (tmp_path / "e" / "ficha.html").read_text()
    assert "No leído:</strong> 10.0.0.9:22: connection refused" in html
    assert "Xeon" not in html and not (tmp_path / "e" / "ficha.pdf").exists()


def test_a_second_issue_keeps_the_first_issues_date_for_the_calendar(tmp_path):
    inv = load_inventory(EXAMPLE)
    out = tmp_path / "expediente"
    build.build(inv, out, _read(inv.difusores), evidence_dir=tmp_path, now=BEFORE_NOTICE,
                pdf=False)
    later = dt.datetime(2021, 5, 20, 17, 0, tzinfo=dt.UTC)
    summary = build.build(inv, out, _read(inv.difusores), evidence_dir=tmp_path, now=later,
                          pdf=False)
    assert summary["emision"] == 2 and summary["documentos"][0]["folio"] == "EXP-002-01"
    record = json.loads((out / "expediente.json").read_text())
    assert [i["fecha"] for i in record["emisiones"]] == ["2021-05-10", "2021-05-20"]
    aviso = next(c for c in summary["calendario"] if c["plazo"] == "calendario::aviso")
    assert aviso["estado"] == "cumplido" and "EXP-001-01" in aviso["detalle"]


def test_a_difusors_inventory_without_participation_is_refused_naming_the_call(tmp_path):
    data = yaml.safe_load(example_text(EXAMPLE))
    del data["participation"]
    path = tmp_path / "inv.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    with pytest.raises(InventoryError, match="'participation' is missing: the call \\(V\\)"):
        load_inventory(path)


def test_an_inventory_without_participation_is_told_what_to_add(tmp_path):
    # The Institute's inventory (with publishers) may leave it out; the expediente may not.
    data = yaml.safe_load(example_text(EXAMPLE))
    del data["participation"]
    iec = yaml.safe_load((EXAMPLE.parent / "example-iec.yml").read_text())
    data["publishers"] = iec["publishers"]
    for publisher in data["publishers"].values():
        publisher["ssh_user"] = data["admins"]["accounts"][0]["name"]
    pinned = next(iter(iec["difusores"].values()))["host_key"]
    data["difusores"]["difusor-1"]["host_key"] = pinned
    path = tmp_path / "inv.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    with pytest.raises(Exception, match="no 'participation' block") as exc:
        build.require_participation(load_inventory(path))
    assert "example-difusor.yml" in exc.value.fix


def test_participation_text_is_escaped_in_every_document(tmp_path):
    hostile = "<script>alert(1)</script><img src=x onerror=alert(2)>\"' & $x"
    data = yaml.safe_load(example_text(EXAMPLE))
    data["participation"]["organization"] = hostile
    data["difusores"]["difusor-1"]["organization"] = hostile
    data["participation"]["contacts"]["drills"][0]["name"] = hostile
    path = tmp_path / "inv.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    inv = load_inventory(path)
    build.build(inv, tmp_path / "e", _read(inv.difusores), evidence_dir=tmp_path,
                now=BEFORE_NOTICE, pdf=False)
    for page in (tmp_path / "e").glob("*.html"):
        text = page.read_text()
        assert "<script>" not in text and "<img src=x" not in text, page.name
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text, page.name


# --- the inventory's participation block -------------------------------------------------


def _load_with(tmp_path, change=None, logo: bytes | None = None, logo_name="logo.png"):
    data = yaml.safe_load(example_text(EXAMPLE))
    if logo is not None:
        (tmp_path / logo_name).write_bytes(logo)
        data["participation"]["logo"] = logo_name
    if change:
        change(data)
    path = tmp_path / "inv.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    with pytest.raises(InventoryError) as exc:
        load_inventory(path)
    [problem] = exc.value.problems
    return problem


def _png(width: int, height: int, pad: int = 0) -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body)))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"".join(b"\x00" + b"\xff" * width for _ in range(height)))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", rows)
            + (chunk(b"tEXt", b"c\x00" + b"x" * pad) if pad else b"") + chunk(b"IEND", b""))


def test_a_missing_logo_key_is_named_with_an_example(tmp_path):
    p = _load_with(tmp_path, lambda d: d["participation"].pop("logo"))
    assert p.path == "participation.logo" and p.what == "required field is missing"
    assert p.example.startswith("logo: logo-ejemplo.png") and p.line


def test_a_logo_file_that_is_not_there_is_named(tmp_path):
    p = _load_with(tmp_path, lambda d: d["participation"].update(logo="no-such.png"))
    assert p.path == "participation.logo"
    assert p.what == f"logo {tmp_path / 'no-such.png'} does not exist"


@pytest.mark.parametrize(("content", "name", "said"), [
    (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>x</script></svg>',
     "logo.svg", "is an SVG: give a PNG or JPEG"),
    (b"GIF89a\x01\x00\x01\x00", "logo.gif", "is neither a PNG nor a JPEG image"),
    (_png(240, 80)[:-12], "logo.png", "is a truncated PNG"),
    (_png(240, 80), "logo.jpg", "is a PNG image named .jpg: name it .png"),
    (_png(2000, 400), "logo.png", "is 2000×400 px: each side must be from 48 to 1024 px"),
    (_png(40, 40), "logo.png", "is 40×40 px: each side must be from 48 to 1024 px"),
    (_png(1000, 60), "logo.png", "at most 6 times wider than high"),
    (_png(240, 80, pad=300 * 1024), "logo.png", "more than 256 KiB"),
])
def test_a_logo_the_list_cannot_use_is_refused(tmp_path, content, name, said):
    p = _load_with(tmp_path, logo=content, logo_name=name)
    assert p.path == "participation.logo" and said in p.what, p.what
    assert "PNG or JPEG" in p.example


def test_a_jpeg_logo_is_read_by_its_frame_header(tmp_path):
    from PIL import Image

    from prep_iac.inventory.logo import read_logo

    Image.new("RGB", (300, 100), "navy").save(tmp_path / "logo.jpeg", quality=80)
    logo = read_logo(tmp_path / "logo.jpeg")
    assert (logo.kind, logo.width, logo.height) == ("jpeg", 300, 100)


@pytest.mark.parametrize("stage", ["installation", "drills", "operation"])
def test_a_stage_without_a_contact_is_named(tmp_path, stage):
    p = _load_with(tmp_path, lambda d: d["participation"]["contacts"].update({stage: []}))
    assert p.path == f"participation.contacts.{stage}"
    assert p.what.startswith(f"no contact for the {stage} stage: the call (V) asks")
    assert p.example.startswith(f"{stage}: [{{name:")  # the stage's example, not the calendar's


def test_a_missing_stage_gets_the_stages_example_not_the_calendars(tmp_path):
    p = _load_with(tmp_path, lambda d: d["participation"]["contacts"].pop("drills"))
    assert p.path == "participation.contacts.drills" and p.what == "required field is missing"
    assert "phone" in p.example and "from:" not in p.example


def test_a_contact_without_a_phone_gets_the_phones_example(tmp_path):
    p = _load_with(tmp_path,
                   lambda d: d["participation"]["contacts"]["operation"][1].pop("phone"))
    assert p.path == "participation.contacts.operation[1].phone"
    assert p.example == 'phone: "+52 844 000 0000"'


def test_two_names_for_the_organization_are_refused(tmp_path):
    p = _load_with(tmp_path, lambda d: d["difusores"]["difusor-1"].update(organization="Otro"))
    assert "names organization 'Otro', participation names 'Diario de Ejemplo'" in p.what


def test_participation_needs_difusores(tmp_path):
    def to_iec(d):
        iec = yaml.safe_load((REPO / "inventories" / "example-iec.yml").read_text())
        d.clear()
        d.update(iec, participation=yaml.safe_load(example_text(EXAMPLE))["participation"])
        d["difusores"] = {}
    p = _load_with(tmp_path, to_iec)
    assert "'participation' describes a difusor's file" in p.what


def test_the_example_logo_is_small_and_checked():
    assert EXAMPLE_LOGO.stat().st_size < 4096
    assert re.fullmatch(r".*logo-ejemplo\.png", load_inventory(EXAMPLE).participation.logo)


def test_the_cli_writes_the_file_and_reports_json(tmp_path, monkeypatch):
    """`prep-iac expediente` on the example: its host's key is not on this machine, so the
    sheet says so and nothing is read; the rest of the file is written."""
    from click.testing import CliRunner

    from prep_iac.cli import cli

    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # ~/.ssh/id_ed25519: not there
    out = tmp_path / "expediente"
    result = CliRunner().invoke(cli, ["expediente", "-i", str(EXAMPLE), "--out", str(out),
                                      "--evidencias", str(tmp_path), "--no-pdf", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["organizacion"] == "Diario de Ejemplo" and data["emision"] == 1
    assert "id_ed25519 does not exist" in data["no_leidos"]["difusor-1"]
    assert all(Path(d["html"]).exists() and d["pdf"] is None for d in data["documentos"])
    assert {c["estado"] for c in data["calendario"]} <= {"cumplido", "pendiente", "vencido"}
