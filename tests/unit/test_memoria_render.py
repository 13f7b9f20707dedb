"""The memoria's one way to make a report: report.html from the Jinja template (autoescaped),
report.pdf from that same HTML (WeasyPrint); and the inventory read through the typed loader."""

import base64
import gzip
import html as htmlmod
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from examples import EXAMPLE_LOGO

from prep_iac import contract
from prep_iac.errors import PrepError
from prep_iac.memoria import collect, incidents, pdf, report
from prep_iac.memoria.cli import memoria

DATA = Path(__file__).parent.parent / "data" / "memoria"
WINDOW = {"desde": "2021-06-06 18:00", "hasta": "2021-06-07 20:00"}

# Values with HTML in them, as a log line and a journal entry can carry them.
EVIL_PATH = "/<script>alert(1)</script>.html"
EVIL_AGENT = "Evil/1.0 <img src=x onerror=alert(2)> & 'co'"
EVIL_REASON = "bad <manifest> & <b>sig</b>"


def _journal(t: int, ident: str, message: str) -> str:
    return json.dumps({"__REALTIME_TIMESTAMP": str(t * 1_000_000), "_BOOT_ID": "b1",
                       "_HOSTNAME": "difusor-1", "SYSLOG_IDENTIFIER": ident,
                       "MESSAGE": message}) + "\n"


@pytest.fixture
def logs(tmp_path):
    d = tmp_path / "logs" / "difusor-1"
    d.mkdir(parents=True)
    shutil.copy(DATA / "access-known.log", d / "prep.access.log")
    with open(d / "prep.access.log", "a") as f:
        f.write(f'10.9.9.9 - - [06/Jun/2021:21:30:00 -0500] "GET {EVIL_PATH} HTTP/1.1" 404 10 '
                f'"-" "{EVIL_AGENT}" rt=0.001 host=prep.example.mx\n')
    shutil.copy(DATA / "journal.json", d / "journal.json")
    with open(d / "journal.json", "a") as f:  # 2021-06-06 21:35 -05:00
        f.write(_journal(1623033300, contract.JOURNAL_ACTIVATOR,
                         contract.refused_message("20210606_2130_PREP_AYUN_COAH", EVIL_REASON)))
    return tmp_path / "logs"


def _pdf_text(path: Path) -> str:
    if shutil.which("pdftotext"):
        out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True,
                             capture_output=True, text=True).stdout
    else:
        pypdf = pytest.importorskip("pypdf", reason="needs pdftotext (poppler-utils) or pypdf")
        out = "\n".join(page.extract_text() for page in pypdf.PdfReader(path).pages)
    return " ".join(out.split())


def _plain(fragment: str) -> str:
    """An HTML fragment's text, whitespace collapsed."""
    return " ".join(htmlmod.unescape(re.sub(r"<[^>]+>", "", fragment)).split())


def test_pdf_is_rendered_from_the_html(logs, tmp_path, monkeypatch):
    given = []
    real = pdf.render
    monkeypatch.setattr(pdf, "render", lambda page, path: (given.append(page), real(page, path)))
    out = tmp_path / "out"
    report.build(report.Options(logs=logs, out=out, **WINDOW))
    page = (out / "report.html").read_text(encoding="utf-8")
    assert given == [page]  # one render: the PDF is made from report.html's very text

    text = _pdf_text(out / "report.pdf")
    titles = [_plain(t) for t in re.findall(r"<h2[^>]*>(.*?)</h2>", page, re.DOTALL)]
    assert "Notas de método" in titles and "1. Resumen" in titles and len(titles) >= 7
    for title in titles:
        assert title in text, title
    notes = _plain(re.search(r'<p class="nota" id="notas-metodo">(.*?)</p>', page, re.DOTALL)[1])
    assert notes.startswith("Hit: toda solicitud") and notes in text
    assert "Hits (solicitudes)" in text and "Aviso de actualización interrumpida" in text
    assert re.search(r"Página 1 de \d", text)  # the print stylesheet's page numbers
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(out / "report.pdf")], check=True,
                              capture_output=True, text=True).stdout
        assert "612 x 792 pts (letter)" in info
    # The same figures in both: SVG in the page, drawn as vectors (their words are text).
    figures = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', page)
    assert len(figures) == 4
    for title in ("Tráfico durante la operación del PREP", "Códigos de respuesta por hora",
                  "Visitantes únicos por hora (dirección + navegador)",
                  "Incidentes (rojo: afectaron la publicación)"):
        assert sum(title in base64.b64decode(f).decode() for f in figures) == 1, title
        assert title in text, title


def test_values_from_logs_and_journal_are_escaped(logs, tmp_path):
    out = tmp_path / "out"
    report.build(report.Options(logs=logs, out=out, **WINDOW))
    page = (out / "report.html").read_text(encoding="utf-8")
    for raw in (EVIL_PATH, EVIL_AGENT, EVIL_REASON):
        assert raw not in page
    assert "/&lt;script&gt;alert(1)&lt;/script&gt;.html" in page
    assert "&lt;img src=x onerror=alert(2)&gt; &amp; &#39;co&#39;" in page
    assert "bad &lt;manifest&gt; &amp; &lt;b&gt;sig&lt;/b&gt;" in page
    assert "<script" not in page and "onerror=alert(2)>" not in page
    # In the PDF they read as the text they were.
    text = _pdf_text(out / "report.pdf")
    assert EVIL_PATH in text and EVIL_REASON in text


MINIMAL_INVENTORY = """
iec:
  official_url: https://www.iec.org.mx/
  sources: [198.51.100.0/28]
  sftp_keys: [ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICBefVXmtvOrONe2gVzaCYGyLCuBxq0zohVfc1JnAsgk iec]
  signers: [ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ2GX1QPKTOoXabZwpz1dbkZs3IHybCmurVJbHblq4Wd firma]
  process: coah-2021-ayuntamientos
  calendar:
    notice_by: "2021-05-12"
    infrastructure_by: "2021-05-14"
    installation: {from: "2021-05-12", to: "2021-05-15"}
    drills: {from: "2021-05-16", to: "2021-05-30", days: ["2021-05-16"]}
    public_list_from: "2021-06-01"
    prep_opens: "2021-06-06 18:00"
    prep_closes: "2021-06-07 18:00"
    publication_ends: "2021-06-15 23:59"
    memoria_by: "2021-06-15"%s
admins:
  networks: [203.0.113.0/24]
  accounts:
    - name: mgarcia
      keys: [ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKPFbziILF621Otg4aIQIHlsNnhudCtJNbo8jwqngrbI m]
difusores:
  difusor-1:
    address: 203.0.113.10
    server_names: [prep.example.mx]
    link_mbps: 10
    ups: {driver: usbhid-ups}
    emergency_power: {plant: Planta, evidence: planta.pdf, tested_on: "2021-05-10"}
participation:
  organization: Diario
  legal_representative: {name: Ana, role: Directora}
  logo: """ + str(EXAMPLE_LOGO) + """
  contacts:
    installation: [{name: M, role: R, phone: "+52 1", hours: "24 h"}]
    drills: [{name: M, role: R, phone: "+52 1", hours: "24 h"}]
    operation: [{name: M, role: R, phone: "+52 1", hours: "24 h"}]
"""


def test_inventory_schema_defaults(logs, tmp_path):
    """No ssh_port, ssh_user, rate_limits or time zone written: the schema's."""
    inv = tmp_path / "inv.yml"
    inv.write_text(MINIMAL_INVENTORY % "")
    assert collect.nodes_from_inventory(inv) == [
        collect.Node("difusor-1", "203.0.113.10", 22, "mgarcia", "")]
    assert collect.inventory_limits(inv) == {"rate_limit_rps": 50, "link_mbps": 10}

    out = tmp_path / "out"
    r = CliRunner().invoke(memoria, ["report", "--logs", str(logs), "--out", str(out), "--no-pdf",
                                     "-i", str(inv), "--desde", WINDOW["desde"],
                                     "--hasta", WINDOW["hasta"]])
    assert r.exit_code == 0, r.output
    data = json.loads((out / "report.json").read_text())
    assert data["limits"] == {"rate_limit_rps": 50, "link_mbps": 10}
    assert data["tz"] == "America/Monterrey"
    texts = " ".join(s["texto"] for s in data["suggestions"])
    assert "límite de 50 solicitudes/s" in texts and "enlace declarado de 10 Mbps" in texts
    assert "10 Mbps" in (out / "report.html").read_text()

    inv.write_text(MINIMAL_INVENTORY % "\n    timezone: America/Mexico_City")
    r = CliRunner().invoke(memoria, ["report", "--logs", str(logs), "--out", str(out), "--no-pdf",
                                     "-i", str(inv)])
    assert r.exit_code == 0, r.output
    assert json.loads((out / "report.json").read_text())["tz"] == "America/Mexico_City"


def test_invalid_inventory_is_refused_by_the_loader(logs, tmp_path):
    inv = tmp_path / "inv.yml"
    inv.write_text(MINIMAL_INVENTORY.replace("    address:", "    adress:") % "")
    r = CliRunner().invoke(memoria, ["report", "--logs", str(logs), "--out", str(tmp_path / "o"),
                                     "--no-pdf", "-i", str(inv)])
    assert isinstance(r.exception, PrepError) and "not valid" in r.exception.cause


class _NoPango:
    """An import hook that fails like cffi does when Pango is not installed."""

    def find_spec(self, name, path=None, target=None):
        if name == "weasyprint":
            raise OSError("cannot load library 'libpango-1.0-0'")


def test_missing_weasyprint_is_one_clear_error(logs, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "weasyprint", None)
    out = tmp_path / "out"
    r = CliRunner().invoke(memoria, ["report", "--logs", str(logs), "--out", str(out)])
    assert isinstance(r.exception, PrepError)
    assert "WeasyPrint" in r.exception.cause and "prep-iac[report]" in r.exception.fix
    assert "--no-pdf" in r.exception.fix
    assert r.exception.__cause__ is None and r.exception.__suppress_context__
    assert not out.exists()  # said before parsing anything
    with pytest.raises(PrepError, match="WeasyPrint"):
        report.build(report.Options(logs=logs, out=out))
    # --no-pdf does without it.
    r = CliRunner().invoke(memoria, ["report", "--logs", str(logs), "--out", str(out),
                                     "--no-pdf"])
    assert r.exit_code == 0, r.output

    monkeypatch.delitem(sys.modules, "weasyprint")
    monkeypatch.setattr(sys, "meta_path", [_NoPango(), *sys.meta_path])
    with pytest.raises(PrepError) as e:
        pdf.require()
    assert "libpango-1.0-0" in e.value.fix and "prep-iac[report]" in e.value.fix


def test_missing_weasyprint_through_the_command(tmp_path):
    """The whole command: exit 2, the cause and the fix, no traceback."""
    code = ("import sys; sys.modules['weasyprint'] = None; "
            "sys.argv = ['prep-iac', 'memoria', 'report', '--logs', sys.argv[1], '--out', "
            "sys.argv[2]]; from prep_iac.cli import main; main()")
    p = subprocess.run([sys.executable, "-c", code, str(DATA), str(tmp_path / "o")],
                       capture_output=True, text=True, timeout=120, check=False)
    assert p.returncode == 2
    assert "WeasyPrint" in p.stderr and "prep-iac[report]" in p.stderr
    assert "Traceback" not in p.stderr


def test_notice_kind_is_the_watchdog_state():
    assert incidents.NOTICE == contract.NOTICE
    assert incidents.KINDS[contract.NOTICE][1]  # a notice affects publication


def test_console_script_ends_at_once_with_everything_written(tmp_path):
    """`prep-iac memoria report` ends by os._exit (no interpreter teardown): its summary line
    still reaches stderr, its files are whole, and a failure keeps its exit code and message."""
    run = "import sys; from prep_iac.cli import run; sys.argv[0] = 'prep-iac'; run()"
    out = tmp_path / "o"
    p = subprocess.run([sys.executable, "-c", run, "memoria", "report", "--logs",
                        str(DATA / "access-known.log"), "--out", str(out), "--no-pdf"],
                       capture_output=True, text=True, timeout=120, check=False)
    assert p.returncode == 0, p.stderr
    assert "report:" in p.stderr and "13 hits" in p.stderr
    assert json.loads((out / "report.json").read_text())["window"]["totals"]["hits"] == 13
    assert (out / "report.html").read_text().rstrip().endswith("</html>")
    p = subprocess.run([sys.executable, "-c", run, "memoria", "report", "--logs",
                        str(tmp_path / "nowhere"), "--out", str(out), "--no-pdf"],
                       capture_output=True, text=True, timeout=120, check=False)
    assert p.returncode == 2 and "no such logs directory" in p.stderr


def test_a_damaged_log_is_reported_after_the_report_is_written(logs, tmp_path):
    """A rotated log cut short: report.json and report.html are written from every line that
    could be read, they name the damaged file, and the command ends with one cause and fix."""
    good = (logs / "difusor-1" / "prep.access.log").read_bytes()
    damaged = logs / "difusor-1" / "prep.access.log.1.gz"
    damaged.write_bytes(gzip.compress(good)[:-40])  # the end of the stream lost
    out = tmp_path / "out"
    r = CliRunner().invoke(memoria, ["report", "--logs", str(logs), "--out", str(out),
                                     "--no-pdf"])
    assert isinstance(r.exception, PrepError)
    assert str(damaged) in r.exception.cause and "damaged" in r.exception.cause
    assert "memoria collect" in r.exception.fix
    data = json.loads((out / "report.json").read_text())
    assert data["input"]["damaged"] == [
        (f"{damaged}: Compressed file ended before the end-of-stream marker was reached "
        "(read up to line 0)")]
    assert data["input"]["lines"] == good.count(b"\n")  # the whole file still counts
    assert "Archivo dañado, leído sólo hasta el daño" in (out / "report.html").read_text()


def test_every_table_of_the_report_gives_its_column_widths():
    """report.pdf lays tables out with fixed widths (half of WeasyPrint's layout time): every
    table, shown or not in a given report, must give one width per column, summing to 100 %."""
    import ast

    template = (Path(report.__file__).parent / "templates" / "report.html.j2").read_text()
    calls = re.findall(r"heads\((\[.*?\]), (\(.*?\)), (\(.*?\))\)", template)
    assert len(calls) == template.count("<table>") == 8
    for names, _numeric, widths in calls:
        names = ast.literal_eval(names.replace("title", "'title'"))
        widths = ast.literal_eval(widths)
        assert len(widths) == len(names) and sum(widths) == 100, (names, widths)
    assert "table-layout: fixed" in template
