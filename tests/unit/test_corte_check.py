"""Reading cuts back (`corte check`, the CSV parser) and the bad inputs of `corte generate`."""

import subprocess
import sys
import zipfile
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from prep_iac.cli import cli
from prep_iac.corte import Election, check, csvreader, package, write_cut
from prep_iac.errors import PrepError

TZ = ZoneInfo("America/Monterrey")


@pytest.fixture(scope="module")
def cut(tmp_path_factory):
    e = Election(seed=21, actas=90, image_kb=2)
    return write_cut(e, datetime(2021, 6, 7, 1, 0, tzinfo=TZ), tmp_path_factory.mktemp("c"))


def _copy(folder, dest):
    import shutil

    shutil.copytree(folder, dest)
    return dest


def _rewrite_csv(folder, edit):
    """Apply ``edit(lines) -> lines`` to the acta CSV inside the cut's zip."""
    zpath = folder / f"{folder.name}.zip"
    members = {}
    with zipfile.ZipFile(zpath) as z:
        for name in z.namelist():
            members[name] = z.read(name)
    lines = members[package.ACTAS_CSV].decode("utf-8").split("\r\n")
    members[package.ACTAS_CSV] = "\r\n".join(edit(lines)).encode("utf-8")
    zpath.unlink()  # a new file: the old one may be hard-linked elsewhere
    with zipfile.ZipFile(zpath, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)


def _first_counted(lines):
    header = lines[5].split(",")
    for n, line in enumerate(lines[6:], start=6):
        cells = line.split(",")
        if len(cells) == len(header):
            row = dict(zip(header, cells))
            if row["CONTABILIZADA"] == "1" and not row["OBSERVACIONES"] and int(row["PRI"]) > 0:
                return n, header, cells
    raise AssertionError("no counted acta")


def test_check_passes_on_a_generated_cut(cut):
    report = check.check(cut)
    assert report.ok, report.findings
    assert report.images_checked > 0


def test_check_catches_a_tampered_row_and_says_which(cut, tmp_path):
    folder = _copy(cut, tmp_path / cut.name)
    seen = {}

    def edit(lines):
        n, header, cells = _first_counted(lines)
        i = header.index("PRI")
        cells[i] = str(int(cells[i]) + 25)  # the classic: votes added to one party
        seen.update(line=n + 1, acta=cells[1].strip("'"))
        lines[n] = ",".join(cells)
        return lines

    _rewrite_csv(folder, edit)
    report = check.check(folder)
    assert not report.ok
    hits = [f for f in report.findings if f"line {seen['line']}" in f.where]
    assert hits and seen["acta"] in hits[0].where
    assert any("TOTAL_VOTOS_CALCULADO" in f.what and "add up" in f.what for f in hits)

    result = CliRunner().invoke(cli, ["corte", "check", str(folder)])
    assert result.exit_code == 1
    assert seen["acta"] in result.output
    # The installed command too (click's standalone mode is off there): a script that
    # checks a cut trusts this code.
    proc = subprocess.run([sys.executable, "-c", "from prep_iac.cli import main; main()",
                           "corte", "check", str(folder)], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr


def test_check_json(cut, tmp_path):
    import json

    result = CliRunner().invoke(cli, ["corte", "check", str(cut), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ok"] is True and data["findings"] == [] and data["images_checked"] > 0
    assert data["newline"] == "CRLF" and data["rows"] > 0 and data["election"]
    folder = _copy(cut, tmp_path / cut.name)

    def edit(lines):
        n, header, cells = _first_counted(lines)
        cells[header.index("PRI")] = str(int(cells[header.index("PRI")]) + 25)
        lines[n] = ",".join(cells)
        return lines

    _rewrite_csv(folder, edit)
    result = CliRunner().invoke(cli, ["corte", "check", str(folder), "--json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["ok"] is False and data["findings"]
    assert set(data["findings"][0]) == {"where", "what"}


def test_check_catches_a_row_tampered_consistently(cut, tmp_path):
    """Votes and total moved together: the row adds up, but the summary and the site do not."""
    folder = _copy(cut, tmp_path / cut.name)
    seen = {}

    def edit(lines):
        n, header, cells = _first_counted(lines)
        for col in ("PRI", "TOTAL_VOTOS_CALCULADO"):
            cells[header.index(col)] = str(int(cells[header.index(col)]) + 25)
        seen["acta"] = cells[1].strip("'")
        lines[n] = ",".join(cells)
        return lines

    _rewrite_csv(folder, edit)
    report = check.check(folder)
    whats = " | ".join(f"{f.where}: {f.what}" for f in report.findings)
    assert "summary: TOTAL_VOTOS_C_CS says" in whats
    assert any(seen["acta"] in f.where and "datos/municipio_" in f.what for f in report.findings)


def test_check_catches_a_changed_summary_and_a_swapped_image(cut, tmp_path):
    folder = _copy(cut, tmp_path / cut.name)

    def edit(lines):
        values = lines[3].split(",")
        values[3] = str(int(values[3]) + 1)  # ACTAS_CAPTURADAS
        lines[3] = ",".join(values)
        return lines

    _rewrite_csv(folder, edit)
    img = min((folder / "actas").iterdir())
    data = img.read_bytes()
    img.unlink()
    img.write_bytes(data[:-1] + b"\x00")
    report = check.check(folder)
    whats = [f"{f.where}: {f.what}" for f in report.findings]
    assert any(w.startswith("summary: ACTAS_CAPTURADAS says") for w in whats)
    assert any(w.startswith(f"actas/{img.name}: SHA-256 differs") for w in whats)


# --- the parser: real files vary ----------------------------------------------------

@pytest.mark.parametrize("encoding,bom,newline,delimiter", [
    ("utf-8", True, "\r\n", ","), ("utf-8", False, "\n", "|"), ("cp1252", False, "\r", ","),
    ("utf-8", True, "\r", "|"),
])
def test_parser_reads_the_variants(cut, encoding, bom, newline, delimiter):
    ours = csvreader.parse(package.read_member(cut / f"{cut.name}.zip"))
    text = package.read_member(cut / f"{cut.name}.zip").decode("utf-8")
    text = text.replace("\r\n", newline)
    if delimiter == "|":
        text = text.replace(",", "|")  # our fields hold no commas
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding)
    theirs = csvreader.parse(data)
    assert theirs.delimiter == delimiter
    assert theirs.summary == ours.summary
    assert theirs.rows == ours.rows
    assert theirs.cut_time == datetime(2021, 6, 7, 1, 0, tzinfo=TZ)


def test_check_reads_a_bare_csv(cut, tmp_path):
    csv_path = tmp_path / package.ACTAS_CSV
    csv_path.write_bytes(package.read_member(cut / f"{cut.name}.zip"))
    assert check.check(csv_path).ok


def test_generate_writes_the_chosen_format(tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["corte", "generate", "--out", str(tmp_path / "o"), "--at", "22:00",
                                 "--actas", "60", "--no-images", "--newline", "lf",
                                 "--delimiter", "|", "--encoding", "utf-8-sig"])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "o" / "20210606_2200_PREP_AYUN_COAH"
    data = package.read_member(folder / f"{folder.name}.zip")
    assert data.startswith(b"\xef\xbb\xbfAYUNTAMIENTOS\n") and b"\r" not in data
    assert data.split(b"\n")[2].count(b"|") == 12
    assert check.check(folder).ok


def test_generate_series_with_progress(tmp_path):
    out = tmp_path / "s"
    result = CliRunner().invoke(cli, ["corte", "generate", "--out", str(out), "--series",
                                      "--desde", "23:30", "--hasta", "00:30", "--periodo", "30m",
                                      "--actas", "60", "--image-kb", "1"])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert names == ["20210606_2330_PREP_AYUN_COAH", "20210607_0000_PREP_AYUN_COAH",
                     "20210607_0030_PREP_AYUN_COAH"]


# --- bad input: a clear error, nothing written --------------------------------------

def _generate(*args):
    return CliRunner().invoke(cli, ["corte", "generate", *args], standalone_mode=False)


def _snapshot(root):
    return sorted((str(p.relative_to(root)), p.read_bytes() if p.is_file() else None)
                  for p in root.rglob("*"))


@pytest.mark.parametrize("moment,words", [
    ("2021-06-06 17:00", "outside the series"),
    ("2021-06-08 09:00", "outside the series"),
    ("20:05", "not a cut time"),
])
def test_at_outside_the_series(tmp_path, moment, words):
    out = tmp_path / "o"
    result = _generate("--out", str(out), "--at", moment, "--actas", "60")
    assert isinstance(result.exception, PrepError)
    assert words in result.exception.cause and result.exception.fix
    assert not out.exists()


def test_at_outside_a_narrow_series(tmp_path):
    out = tmp_path / "o"
    result = _generate("--out", str(out), "--at", "23:00", "--desde", "18:00", "--hasta", "22:00",
                       "--actas", "60")
    assert "outside the series" in result.exception.cause
    assert not out.exists()


def test_unknown_time_zone(tmp_path):
    out = tmp_path / "o"
    result = _generate("--out", str(out), "--at", "20:00", "--tz", "America/Saltillo")
    assert isinstance(result.exception, PrepError)
    assert "unknown time zone 'America/Saltillo'" in result.exception.cause
    assert not out.exists()


def test_output_folder_that_is_not_ours(tmp_path):
    out = tmp_path / "site"
    out.mkdir()
    (out / "index.html").write_text("a newspaper's own page")
    before = _snapshot(out)
    result = _generate("--out", str(out), "--at", "20:00", "--actas", "60")
    assert isinstance(result.exception, PrepError)
    assert "not made by `prep-iac corte`" in result.exception.cause
    assert _snapshot(out) == before
    with pytest.raises(PrepError):
        write_cut(Election(seed=1, actas=60), "20:00", out)
    assert _snapshot(out) == before


def test_a_folder_of_ours_is_reused(tmp_path):
    out = tmp_path / "o"
    e = Election(seed=2, actas=60, image_kb=1)
    first = write_cut(e, "20:00", out)
    again = write_cut(Election(seed=2, actas=60, image_kb=1), "20:00", out)
    assert first == again and check.check(again).ok


def test_the_real_cli_exits_2_with_cause_and_fix(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", "from prep_iac.cli import main; main()", "corte", "generate",
         "--out", str(tmp_path / "o"), "--at", "20:00", "--tz", "Nowhere/City"],
        check=False, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "unknown time zone" in proc.stderr and "fix:" in proc.stderr


def test_check_of_something_that_is_not_a_cut(tmp_path):
    (tmp_path / "x.csv").write_text("hola\n")
    with pytest.raises(PrepError):
        check.check(tmp_path / "x.csv")
    with pytest.raises(PrepError):
        check.check(tmp_path / "missing")


def test_check_flags_what_a_difusor_must_not_serve(cut, tmp_path):
    folder = _copy(cut, tmp_path / cut.name)
    (folder / "fuera").symlink_to("/etc/passwd")
    page = folder / "municipio_01.html"
    page.write_text(page.read_text("utf-8").replace('href="index.html"', 'href="https://x.example/"'),
                    "utf-8")
    whats = [f"{f.where}: {f.what}" for f in check.check(folder).findings]
    assert "fuera: is a symlink: a cut holds regular files only" in whats
    assert "municipio_01.html: links outside the cut: https://x.example/" in whats


def test_a_period_below_a_minute_is_refused(tmp_path):
    out = tmp_path / "o"
    result = _generate("--out", str(out), "--series", "--periodo", "30s", "--actas", "60")
    assert isinstance(result.exception, PrepError) and "same id" in result.exception.cause
    assert not out.exists()


def test_check_catches_votes_in_a_row_not_yet_captured(cut, tmp_path):
    folder = _copy(cut, tmp_path / cut.name)
    seen = {}

    def edit(lines):
        header = lines[5].split(",")
        for n, line in enumerate(lines[6:], start=6):
            cells = line.split(",")
            if len(cells) == len(header) and not cells[header.index("FECHA_HORA_CAPTURA")]:
                cells[header.index("MORENA")] = "40"
                seen["acta"] = cells[1].strip("'")
                lines[n] = ",".join(cells)
                return lines
        raise AssertionError("every acta is captured")

    _rewrite_csv(folder, edit)
    hits = [f for f in check.check(folder).findings if seen["acta"] in f.where]
    assert hits and "is not captured but has MORENA" in hits[0].what
