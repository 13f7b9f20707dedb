"""A cut is a cut (issue 20, item 6): recognised by its own data, its time read from its CSVs,
never from its folder's name alone, its mtime or the clock."""

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from handmade import time_csv

from prep_iac.corte import CsvFormat, Election, write_cut
from prep_iac.errors import PrepError
from prep_iac.onhost.publisher import cutdata, manifest, run, service, signing, source
from prep_iac.onhost.publisher.registry import DifusorEntry, Registry

CUT = "20210606_2000_PREP_AYUN_COAH"
LATER = "20210606_2010_PREP_AYUN_COAH"
CUT_TIME = "2021-06-06T20:00:00-05:00"


@pytest.fixture(scope="module")
def election():
    return Election(seed=3, actas=60)


@pytest.fixture
def out(election, tmp_path):
    """What `prep-iac corte generate --out DIR` leaves: DIR/<cut-id>/ and its own store."""
    out = tmp_path / "salida"
    write_cut(election, "2021-06-06 20:00", out, images=False)
    return out


def refusal(folder, cut_id=None) -> PrepError:
    with pytest.raises(PrepError) as info:
        cutdata.cut_time(folder, cut_id)
    return info.value


# --- a generated cut ----------------------------------------------------------------------------

def test_a_generated_cut_gives_the_time_of_its_csvs(out):
    folder = out / CUT
    os.utime(folder, (2_000_000_000, 2_000_000_000))  # its date says 2033: irrelevant
    assert cutdata.cut_time(folder) == CUT_TIME
    found, unreadable = cutdata.scan(folder)
    assert set(found) == {f"{CUT}.zip:COAH_AYUN_2021.csv",
                          f"{CUT}.zip:COAH_AYUN_CANDIDATURAS_2021.csv"} and not unreadable
    assert manifest.build(folder).timestamp == CUT_TIME


def test_the_time_and_offset_come_from_the_data(election, tmp_path):
    folder = write_cut(election, "2021-06-07 01:00", tmp_path / "s", images=False,
                       fmt=CsvFormat(encoding="utf-8-sig", newline="cr", delimiter="|"))
    assert cutdata.cut_time(folder) == "2021-06-07T01:00:00-05:00"
    tijuana = write_cut(Election(seed=3, actas=60, tz="America/Tijuana"), "2021-06-06 20:00",
                        tmp_path / "t", images=False)
    assert cutdata.cut_time(tijuana) == "2021-06-06T20:00:00-07:00"


@pytest.mark.parametrize("head", [
    b"AYUNTAMIENTOS\r\n06/06/2021 20:00 (UTC-5)\r\n",
    b"\xef\xbb\xbfAYUNTAMIENTOS\n06/06/2021 20:00:00 (UTC-5)\n",
    b"\r\nAYUNTAMIENTOS\r\r06/06/2021 20:00 (UTC -5:00)\r",
    "AYUNTAMIENTOS DE COAHUILA Ñ\n06/06/2021 20:00 (UTC-5)\n".encode("cp1252"),
])
def test_the_time_line_as_real_files_write_it(head):
    assert cutdata.head_time(head).isoformat() == CUT_TIME


@pytest.mark.parametrize("head", [b"AYUNTAMIENTOS\n", b"casilla,votos\n1,2\n",
                                  b"AYUNTAMIENTOS\n31/02/2021 20:00 (UTC-5)\n", b""])
def test_what_is_no_time_line(head):
    assert cutdata.head_time(head) is None


def test_the_institutes_zip_of_a_cut_is_a_cut(out, tmp_path):
    z = tmp_path / f"{CUT}.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for p in (out / CUT).rglob("*"):
            zf.write(p, p.relative_to(out).as_posix())
    with source.opened(z) as (folder, cut_id):
        assert cutdata.cut_time(folder, cut_id) == CUT_TIME


def test_a_loose_csv_makes_a_cut_and_a_name_without_time_takes_the_datas(tmp_path):
    folder = tmp_path / "ENSAYO_1"
    time_csv(folder, CUT)
    (folder / "index.html").write_text("hola")
    assert cutdata.cut_time(folder) == CUT_TIME


# --- what is refused ----------------------------------------------------------------------------

def test_a_damaged_zip_is_refused_not_a_crash(tmp_path):
    z = tmp_path / f"{CUT}.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{CUT}/index.html", "PREP " * 20000)
    data = bytearray(z.read_bytes())
    data[60:200] = bytes(140)  # cut off and overwritten mid-copy
    z.write_bytes(bytes(data))
    with pytest.raises(PrepError, match="is a damaged zip"), source.opened(z):
        pass


def _patched_zip(path, *, flags=0, method=None):
    """A one-member zip whose headers (local and central) say other flags or method, as a
    zip from another tool may: encrypted (flag bit 0), or an unknown compression method."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{CUT}/index.html", "PREP")
    data = bytearray(path.read_bytes())
    for signature, at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        head = data.index(signature)
        data[head + at] |= flags
        if method is not None:
            data[head + at + 2:head + at + 4] = method.to_bytes(2, "little")
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("kind, header", [("encrypted", {"flags": 1}),
                                          ("unknown compression", {"method": 99})])
def test_a_zip_python_cannot_read_is_refused_not_a_crash(tmp_path, kind, header):
    """What ZIP_DAMAGED lists beyond BadZipFile: zipfile raises RuntimeError for an
    encrypted member and NotImplementedError for a compression method it lacks."""
    z = tmp_path / f"{CUT}.zip"
    _patched_zip(z, **header)
    with pytest.raises(PrepError, match="is a damaged zip"), source.opened(z):
        pass


def test_the_parent_folder_is_refused_naming_its_cut(out):
    err = refusal(out)
    assert err.cause == f"{out} holds the cut {out / CUT}"
    assert err.fix == "publish that folder"


def test_a_parent_of_several_cuts_names_the_newest(out, election):
    write_cut(election, "2021-06-06 20:10", out, images=False)
    err = refusal(out)
    assert f"holds 2 cuts ({CUT} … {LATER})" in err.cause and str(out / LATER) in err.fix


def test_a_folder_without_prep_csv_is_refused(tmp_path):
    folder = tmp_path / CUT
    (folder / "datos").mkdir(parents=True)
    (folder / "index.html").write_text("hola")
    time_csv(folder / "datos", CUT)  # a CSV deeper down does not make the folder a cut
    (folder / "sin_hora.csv").write_text("casilla,votos\n1,2\n")
    (folder / f"{CUT}.zip").write_bytes(b"PK not a zip")
    err = refusal(folder)
    assert "is not a PREP cut" in err.cause and f"{CUT}.zip: not a readable zip" in err.cause
    assert "06/06/2021 20:00 (UTC-5)" in err.fix
    with pytest.raises(PrepError, match="is not a PREP cut"):
        manifest.build(folder)  # before any hashing
    (tmp_path / "vacio").mkdir()
    assert "is not a PREP cut" in refusal(tmp_path / "vacio").cause


def test_a_linked_csv_is_not_followed(tmp_path):
    elsewhere = time_csv(tmp_path / "otro" / CUT)
    folder = tmp_path / CUT
    folder.mkdir()
    (folder / "COAH_AYUN_2021.csv").symlink_to(elsewhere)
    assert "is not a PREP cut" in refusal(folder).cause


def test_csvs_that_disagree_are_refused(out):
    folder = out / CUT
    time_csv(folder, LATER, name="COAH_AYUN_OTRO.csv")
    err = refusal(folder)
    assert "disagree on the cut's time" in err.cause
    assert "COAH_AYUN_OTRO.csv says 2021-06-06T20:10:00-05:00" in err.cause
    assert f"{CUT}.zip:COAH_AYUN_2021.csv says {CUT_TIME}" in err.cause


def test_a_name_that_contradicts_the_data_is_refused(out, tmp_path):
    wrong = tmp_path / LATER
    shutil.copytree(out / CUT, wrong)
    err = refusal(wrong)
    assert err.cause == f"{LATER} names the time 2021-06-06 20:10 but its CSVs say 2021-06-06 20:00"
    assert "20210606_2000_…" in err.fix
    assert "names the time" in refusal(out / CUT, LATER).cause  # a zip's id is its name too
    with pytest.raises(PrepError, match="names the time"):
        manifest.build(out / CUT, LATER)


def test_an_explicit_timestamp_is_the_callers_word(tmp_path):
    """Tests of hand-made trees vouch for their time; publishing never does (run.prepare)."""
    folder = tmp_path / CUT
    folder.mkdir()
    (folder / "index.html").write_text("hola")
    assert manifest.build(folder, timestamp=CUT_TIME).timestamp == CUT_TIME


def test_a_cached_manifest_never_vouches_for_a_folder_that_is_no_cut(out, tmp_path):
    """An older publisher may have cached a manifest for the parent folder: not reused."""
    cache = tmp_path / "firmados"
    cache.mkdir()
    (cache / "salida.stamp").write_text(json.dumps(run._folder_identity(out)))
    (cache / "salida.json").write_text("{}")
    with pytest.raises(PrepError, match="holds the cut"):
        run._content(out, "salida", cache)


# --- prep-iac publish ---------------------------------------------------------------------------

def registry(tmp_path, drop: Path, **changes) -> Registry:
    key = tmp_path / "firma"
    if not key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
                       check=True)
    values = {"difusores": (DifusorEntry("d1", "127.0.0.1", 22, "ssh-ed25519 AAAA"),),
              "jail_user": "iec", "period_s": 600, "timezone": "America/Monterrey",
              "sftp_identity": str(key), "signing_key": str(key),
              "signers": ((tmp_path / "firma.pub").read_text().strip(),),
              "drop_dir": str(drop), "state_dir": str(tmp_path / "estado"),
              "process": "prueba-2021"}
    return Registry(**{**values, **changes})


def test_publish_of_the_parent_folder_exits_2_with_error_and_fix(out, tmp_path):
    reg = tmp_path / "registry.json"
    reg.write_text(registry(tmp_path, tmp_path).dumps())
    proc = subprocess.run([sys.executable, "-c", "from prep_iac.cli import main; main()",
                           "publish", str(out), "--registry", str(reg)],
                          capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, "COLUMNS": "400"})
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert proc.stderr.startswith("error:") and proc.stderr.count("error:") == 1
    assert proc.stderr.count("fix:") == 1
    assert f"holds the cut {out / CUT}" in proc.stderr and "publish that folder" in proc.stderr
    assert not (tmp_path / "estado").exists()  # nothing signed, no ledger


# --- the publisher service ----------------------------------------------------------------------

@pytest.fixture
def drop(out, election, tmp_path, monkeypatch):
    """A drop folder with two real cuts and, newer by name, three entries that are none."""
    drop = tmp_path / "entrada"
    drop.mkdir()
    for at in ("20:00", "20:10"):
        folder = write_cut(election, f"2021-06-06 {at}", out, images=False)
        shutil.copytree(folder, drop / folder.name)
    shutil.copytree(out, drop / "20210606_2300_PREP", ignore=shutil.ignore_patterns(".*"))
    (drop / "20210606_2200_PREP_AYUN_COAH").mkdir()
    (drop / "20210606_2200_PREP_AYUN_COAH" / "index.html").write_text("hola")
    (drop / "20210606_2100_PREP_AYUN_COAH.zip").write_bytes(b"no es un zip")
    lines, pushed = [], []
    monkeypatch.setattr(service.notify, "journal", lines.append)
    monkeypatch.setattr(service, "publish", lambda reg, signed, ledger, **kw: pushed.append(
        signed) or [])
    return drop, lines, pushed


def test_the_service_skips_what_is_no_cut_and_publishes_the_newest_real_one(drop, tmp_path):
    folder, lines, pushed = drop
    reg = registry(tmp_path, folder)
    assert service.once(reg, tmp_path / "lista") == LATER
    assert [s.manifest.cut_id for s in pushed] == [LATER]
    assert pushed[0].manifest.timestamp == "2021-06-06T20:10:00-05:00"
    assert len(lines) == 3 and all("\n" not in line for line in lines)
    parent, empty, not_zip = lines
    assert parent.startswith("skipped 20210606_2300_PREP: ")
    assert "holds 2 cuts" in parent
    assert empty.startswith("skipped 20210606_2200_PREP_AYUN_COAH: ")
    assert "is not a PREP cut" in empty
    assert not_zip.startswith("skipped 20210606_2100_PREP_AYUN_COAH.zip: ")
    assert "neither a cut folder nor a zip" in not_zip


def test_a_service_run_with_a_non_cut_newest_publishes_once(drop, tmp_path):
    folder, _, pushed = drop
    path = tmp_path / "registry.json"
    path.write_text(registry(tmp_path, folder).dumps())
    assert service.main(["--registry", str(path)]) == 0
    assert [s.manifest.cut_id for s in pushed] == [LATER]


def test_with_no_real_cut_the_service_says_so(tmp_path, monkeypatch):
    drop = tmp_path / "entrada"
    (drop / "salida").mkdir(parents=True)
    lines = []
    monkeypatch.setattr(service.notify, "journal", lines.append)
    assert service.once(registry(tmp_path, drop), tmp_path / "lista") is None
    assert lines[0].startswith("skipped salida: ") and lines[-1].startswith("no cut in ")
    assert len(lines) == 2


def test_prepare_signs_the_time_of_the_data(out, tmp_path):
    """prepare() on a real cut signs its manifest with the time its CSVs say."""
    signed = run.prepare(out / CUT, CUT, registry(tmp_path, tmp_path),
                         sequence_dir=tmp_path / "seq")
    assert json.loads(signed.data)["fecha_hora"] == CUT_TIME
    assert signing.verify(signed.data, signed.signature,
                          [(tmp_path / "firma.pub").read_text()])
