"""The national cut (`corte generate --ambito nacional`): catalogue, packages per election,
the site linking them, `corte check` naming the election at fault, and the limits."""

import hashlib
import io
import json
import re
import shutil
import zipfile

import pytest
from click.testing import CliRunner

from prep_iac.cli import cli
from prep_iac.corte import Election, csvreader, package, summary
from prep_iac.corte import election as local_election
from prep_iac.corte import nacional_catalogue as nat
from prep_iac.corte.csvwriter import CsvFormat
from prep_iac.corte.nacional import MAX_CASILLAS, NationalElection
from prep_iac.corte.nacional_check import check_national, is_national
from prep_iac.corte.nacional_cut import INDEX_JSON, write_national_cut
from prep_iac.errors import PrepError
from prep_iac.onhost.publisher import cutdata, manifest

CASILLAS = 1500


@pytest.fixture(scope="module")
def night():
    return NationalElection(seed=11, casillas=CASILLAS)


@pytest.fixture(scope="module")
def folder(night, tmp_path_factory):
    return write_national_cut(night, "2024-06-03 01:00", tmp_path_factory.mktemp("nac"))


def _csv(folder, code):
    index = json.loads((folder / INDEX_JSON).read_text("utf-8"))
    entry = next(e for e in index["elecciones"] if e["codigo"] == code)
    with zipfile.ZipFile(folder / entry["zip"]) as z:
        return entry, z.read(entry["csv"]), z.namelist()


def _digest(root):
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_the_catalogue_is_the_federal_one():
    assert len(nat.ENTIDADES) == 32
    assert [e[0] for e in nat.ENTIDADES] == list(range(1, 33))
    assert nat.DISTRITOS == 300
    assert nat.DEFAULT_CASILLAS >= 170_000
    assert nat.CODES == ["PRES", "SEN", "DIP"]


def test_every_casilla_has_one_acta_per_election_in_every_district(night):
    assert len(night.casilla_ln) == CASILLAS
    assert night.actas == 3 * CASILLAS
    assert set(night.casilla_district) == set(range(300))
    for e in night.elections:
        assert len(e.rows) == CASILLAS
        claves = {r.split(",")[1] for r in e.rows}
        assert len(claves) == CASILLAS
        assert all(c.endswith((f"{e.tipo_acta}'", f"{e.tipo_acta}E'")) for c in claves)


def test_each_election_has_its_package_with_csv_and_leeme(folder, night):
    assert sorted(p.name for p in folder.glob("*.zip")) == [
        f"{folder.name}_{c}.zip" for c in ("DIP", "PRES", "SEN")]
    for code, line, _, _ in nat.ELECCIONES:
        entry, data, members = _csv(folder, code)
        assert members == [f"{code}_2024.csv", package.LEEME]
        parsed = csvreader.parse(data)
        assert parsed.election == line
        assert parsed.cut_line == "03/06/2024 01:00 (UTC-6)"
        fuera = sum(1 for r in parsed.rows if r["CONTABILIZADA"] == "2")
        assert len(parsed.rows) == CASILLAS + fuera == entry["filas"]
        # The summary the writer put in the header is what the rows say.
        assert parsed.summary == summary.compute(parsed.rows) == entry["resumen"]
        with zipfile.ZipFile(folder / entry["zip"]) as z:
            leeme = z.read(package.LEEME).decode()
        assert f"{code}_2024.csv" in leeme and line in leeme and "SIMULACRO" in leeme


def test_the_site_links_every_election_and_each_links_its_entities(folder):
    index = (folder / "index.html").read_text("utf-8")
    for code in nat.CODES:
        assert f'href="{code}/index.html"' in index
        assert f'href="{folder.name}_{code}.zip"' in index
        page = (folder / code / "index.html").read_text("utf-8")
        assert page.count('href="entidad_') == 32
        assert f'href="../{folder.name}_{code}.zip"' in page
        assert "DISTRITO 01" in (folder / code / "entidad_09.html").read_text("utf-8")


def test_the_publisher_reads_the_cut_time_from_every_package(folder):
    found, unreadable = cutdata.scan(folder)
    assert not unreadable and len(found) == 3
    assert cutdata.cut_time(folder) == "2024-06-03T01:00:00-06:00"
    m = manifest.build(folder)
    assert m.cut_id == folder.name and len(m.entries) == len(_digest(folder))


def test_same_seed_same_bytes_other_seed_other_votes(night, folder, tmp_path):
    again = write_national_cut(NationalElection(seed=11, casillas=CASILLAS), "2024-06-03 01:00",
                               tmp_path / "a")
    assert _digest(again) == _digest(folder)
    other = write_national_cut(NationalElection(seed=12, casillas=CASILLAS), "2024-06-03 01:00",
                               tmp_path / "b")
    assert _csv(other, "PRES")[1] != _csv(folder, "PRES")[1]


def test_a_later_cut_keeps_every_row_of_an_earlier_one(night, tmp_path):
    early = write_national_cut(night, "2024-06-02 22:00", tmp_path)
    late = write_national_cut(night, "2024-06-02 23:00", tmp_path)
    rows_early = csvreader.parse(_csv(early, "SEN")[1]).rows
    rows_late = {r["CLAVE_ACTA"]: r for r in csvreader.parse(_csv(late, "SEN")[1]).rows}
    captured = [r for r in rows_early if r["FECHA_HORA_CAPTURA"]]
    assert captured and all(rows_late[r["CLAVE_ACTA"]] == r for r in captured)
    assert (sum(1 for r in rows_late.values() if r["FECHA_HORA_CAPTURA"]) > len(captured))


def test_only_the_elections_asked_for(tmp_path):
    one = NationalElection(seed=3, casillas=700, elections=["DIP"])
    cut = write_national_cut(one, "23:00", tmp_path)
    assert [p.name for p in cut.glob("*.zip")] == [f"{cut.name}_DIP.zip"]
    assert check_national(cut).ok
    with pytest.raises(PrepError, match="unknown or repeated"):
        NationalElection(casillas=700, elections=["GUB"])


@pytest.mark.parametrize("fmt", [CsvFormat(encoding="latin-1", newline="lf", delimiter="|"),
                                 CsvFormat(encoding="utf-8-sig", newline="cr")])
def test_other_encodings_and_delimiters_check_clean(night, fmt, tmp_path):
    cut = write_national_cut(night, "2024-06-03 03:00", tmp_path, fmt=fmt)
    report = check_national(cut)
    assert report.ok, report.findings
    assert {r.parsed.delimiter for _, r in report.elections} == {"|" if fmt.delimiter == "|" else ","}


# -- corte check --------------------------------------------------------------------------

def test_check_passes_a_fresh_cut(folder, night):
    assert is_national(folder)
    report = check_national(folder)
    assert report.ok, report.findings
    assert [code for code, _ in report.elections] == nat.CODES
    fuera = {c: sum(1 for v, _ in e.fuera if v <= night.seconds(night.local("2024-06-03 01:00")))
             for c, e in zip(nat.CODES, night.elections)}
    assert report.rows == {c: CASILLAS + fuera[c] for c in nat.CODES}


def _rewrite(folder, code, edit):
    """Apply ``edit(csv_text) -> csv_text`` to one election's CSV inside its zip."""
    entry, data, _ = _csv(folder, code)
    path = folder / entry["zip"]
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    members[entry["csv"]] = edit(data.decode("utf-8")).encode("utf-8")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n, d in members.items():
            z.writestr(n, d)
    path.write_bytes(buf.getvalue())


def test_check_names_the_election_whose_file_was_corrupted(folder, tmp_path):
    bad = shutil.copytree(folder, tmp_path / folder.name)

    def one_more_vote(text):
        lines = text.split("\r\n")
        i = next(i for i, line in enumerate(lines) if ",ACTA PREP" in line and ",,1," in line)
        cells = lines[i].split(",")
        col = nat.KEY_COLUMNS.__len__() + 4  # the first party's votes
        cells[col] = str(int(cells[col]) + 7)
        lines[i] = ",".join(cells)
        return "\r\n".join(lines)

    _rewrite(bad, "DIP", one_more_vote)
    report = check_national(bad)
    assert not report.ok
    wheres = [f.where for f in report.findings]
    assert all(w.startswith("DIP · ") for w in wheres), wheres
    assert any(re.fullmatch(r"DIP · line \d+ \(acta \d{6}[BCES]\d{4}3E?\)", w) for w in wheres)
    whats = " ".join(f.what for f in report.findings)
    assert "SHA-256 differs" in whats and "parts add up to" in whats
    assert dict(report.elections)["PRES"].ok and not dict(report.elections)["DIP"].ok


def test_check_pins_a_site_summary_that_disagrees_and_a_missing_leeme(folder, tmp_path):
    bad = shutil.copytree(folder, tmp_path / folder.name)
    js = bad / "SEN" / "datos" / "entidad_15.json"
    data = json.loads(js.read_text("utf-8"))
    data["resumen"]["ACTAS_CAPTURADAS"] = "1"
    js.write_text(json.dumps(data), "utf-8")
    entry, _, _ = _csv(bad, "PRES")
    path = bad / entry["zip"]
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist() if n != package.LEEME}
    with zipfile.ZipFile(path, "w") as z:
        for n, d in members.items():
            z.writestr(n, d)
    report = check_national(bad)
    found = {(f.where, f.what.split(" says")[0]) for f in report.findings}
    assert ("SEN · SEN/datos/entidad_15.json", "ACTAS_CAPTURADAS") in found
    assert any(w == f"PRES · {entry['zip']}" and "has no LEEME.txt" in what
               for w, what in ((f.where, f.what) for f in report.findings))


def test_one_election_package_checks_alone(folder):
    from prep_iac.corte import check

    report = check.check(folder / f"{folder.name}_SEN.zip")
    assert report.ok and report.source == f"{folder.name}_SEN.zip:SEN_2024.csv"


def test_check_cli_on_a_national_cut(folder, tmp_path):
    ok = CliRunner().invoke(cli, ["corte", "check", str(folder), "--json"])
    assert ok.exit_code == 0, ok.output
    data = json.loads(ok.output)
    assert data["ok"] and [e["code"] for e in data["elections"]] == nat.CODES
    bad = shutil.copytree(folder, tmp_path / folder.name)
    (bad / "DIP" / "index.html").write_text('<a href="../../x.html">x</a>', "utf-8")
    res = CliRunner().invoke(cli, ["corte", "check", str(bad)])
    assert res.exit_code == 1 and "links outside the cut" in res.output


# -- generate and its limits ----------------------------------------------------------------

def _generate(*args):
    # Outside standalone mode the PrepError itself comes back (the installed command prints
    # it and exits 2: tests/unit/test_corte_check.py runs that path).
    return CliRunner().invoke(cli, ["corte", "generate", *args], standalone_mode=False)


def test_generate_national_from_the_cli(tmp_path):
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["corte", "generate", "--out", str(out), "--ambito", "nacional",
                                   "--casillas", "800", "--at", "2024-06-02 23:00"])
    assert res.exit_code == 0, res.output
    cut = out / "20240602_2300_PREP_FED"
    assert check_national(cut).ok


def test_more_casillas_than_supported_stops_before_writing(tmp_path):
    with pytest.raises(PrepError) as err:
        NationalElection(casillas=MAX_CASILLAS + 1)
    assert f"{MAX_CASILLAS:,}" in str(err.value) and "memory" in str(err.value)
    assert err.value.fix and "nothing was written" in err.value.fix
    out = tmp_path / "out"
    res = _generate("--out", str(out), "--ambito", "nacional", "--casillas",
                    str(MAX_CASILLAS + 1), "--at", "23:00")
    assert "more than the national generator supports" in res.exception.cause
    assert not out.exists()


def test_more_local_actas_than_supported_stops_before_writing(tmp_path):
    with pytest.raises(PrepError, match="more than a local cut supports"):
        Election(actas=local_election.MAX_ACTAS + 1)
    out = tmp_path / "out"
    res = _generate("--out", str(out), "--actas", str(local_election.MAX_ACTAS + 1), "--at",
                    "20:00")
    assert "--ambito nacional" in res.exception.fix
    assert not out.exists()


@pytest.mark.parametrize("args, says", [
    (["--ambito", "nacional", "--actas", "900"], "--casillas"),
    (["--ambito", "nacional", "--images"], "no acta images"),
    (["--casillas", "900"], "--ambito nacional"),
    (["--ambito", "nacional", "--casillas", "10"], "too few"),
])
def test_mixed_options_are_refused(tmp_path, args, says):
    res = _generate("--out", str(tmp_path / "o"), "--at", "23:00", *args)
    assert isinstance(res.exception, PrepError), res.output
    assert says in f"{res.exception.cause} {res.exception.fix}"
    assert not (tmp_path / "o").exists()
