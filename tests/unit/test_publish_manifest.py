"""Manifests, signatures, delta, cut sources, the list page."""

import json
import os
import subprocess
import zipfile

import pytest
from handmade import CSV_NAME, time_csv
from stamps import stamp

from prep_iac import contract
from prep_iac.errors import PrepError
from prep_iac.onhost.publisher import delta, listpage, manifest, signing, source
from prep_iac.onhost.publisher.ledger import Ledger
from prep_iac.onhost.publisher.registry import DifusorEntry, Registry


def keypair(path):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path


@pytest.fixture
def cut(tmp_path):
    root = tmp_path / "20210606_2000_PREP_AYUN_COAH"
    (root / "actas").mkdir(parents=True)
    (root / "index.html").write_text("hola")
    (root / "actas/1.jpg").write_bytes(b"\xff" * 1000)
    time_csv(root)  # what makes it a PREP cut: its CSV says its time
    return root


def test_manifest_fields(cut):
    m = manifest.build(cut)
    assert m.cut_id == "20210606_2000_PREP_AYUN_COAH"
    assert m.timestamp == "2021-06-06T20:00:00-05:00"
    with pytest.raises(ValueError, match="no stamp"):
        m.to_bytes()  # never signed without its stamp
    m = m.stamped(stamp(secuencia=9))
    doc = json.loads(m.to_bytes())
    assert doc["formato"] == manifest.FORMAT and doc["secuencia"] == 9
    assert {a["ruta"] for a in doc["archivos"]} == {"index.html", "actas/1.jpg", CSV_NAME}
    assert manifest.Manifest.from_json(doc) == m
    assert contract.parse_manifest(m.to_bytes())["proceso"] == "prueba-2021"


def test_a_heartbeat_names_the_content_under_the_stamp(cut):
    m = manifest.build(cut).stamped(stamp(secuencia=10, final=True))
    beat = contract.parse_heartbeat(m.heartbeat_bytes(), cut_id=m.cut_id)
    assert beat["contenido_sha256"] == m.content_sha256
    assert (beat["secuencia"], beat["final"]) == (10, True)
    assert "archivos" not in beat
    (cut / "index.html").write_text("adios")
    assert manifest.build(cut).content_sha256 != m.content_sha256
    # the same content under another stamp, or listed in another order: the same identity
    again = manifest.build(cut).stamped(stamp())
    assert contract.content_sha256(list(reversed(again.files_json()))) == again.content_sha256


def test_the_sequence_only_grows_and_survives_a_clock_going_back(tmp_path):
    from prep_iac.onhost.publisher.stamp import next_sequence

    first = next_sequence(tmp_path, now=2_000_000.0)
    assert first == 2_000_000_000
    assert next_sequence(tmp_path, now=1_000_000.0) == first + 1  # the clock went back
    assert next_sequence(tmp_path, now=3_000_000.0) == 3_000_000_000


def test_symlink_in_cut_is_an_error(cut):
    (cut / "x").symlink_to("/etc/shadow")
    with pytest.raises(PrepError, match="not a regular file"):
        manifest.build(cut)


def test_sign_verify(tmp_path):
    key, other = keypair(tmp_path / "k"), keypair(tmp_path / "o")
    pub = (tmp_path / "k.pub").read_text()
    sig = signing.sign(b"data", key)
    assert signing.verify(b"data", sig, [pub])
    assert not signing.verify(b"datA", sig, [pub])
    assert not signing.verify(b"data", signing.sign(b"data", other), [pub])
    assert not signing.verify(b"data", signing.sign(b"data", key, "otro@ns"), [pub])


def test_delta_by_content(cut):
    m = manifest.build(cut).stamped(stamp())
    served = delta.have_of_served(json.loads(m.to_bytes()))
    assert served == delta.have_of_manifest(m)
    assert delta.missing(m, served) == []
    assert len(delta.missing(m, delta.have_of_served(None))) == 3
    (cut / "index.html").write_text("adios")
    (cut / "renamed.jpg").write_bytes(b"\xff" * 1000)  # same content, new name: not sent
    assert [e.path for e in delta.missing(manifest.build(cut), served)] == ["index.html"]


def test_known_bases_are_keyed_by_the_content(cut):
    """The difusor names its served cut by its content (contenido_sha256), whatever stamp
    signed it; the publisher's copy serves for that content only."""
    m = manifest.build(cut).stamped(stamp())
    known = delta.known_bases([m.to_bytes(), m.stamped(stamp()).to_bytes()])
    assert known == {m.content_sha256: delta.have_of_manifest(m)}
    (cut / "index.html").write_text("adios")
    assert manifest.build(cut).content_sha256 not in known
    with pytest.raises(ValueError):
        delta.base_of(b"{broken")


def test_known_from_cache_reads_the_newest_cached_cuts_and_prune_keeps_them(cut, tmp_path):
    from prep_iac.onhost.publisher.run import known_from_cache, prune_signed

    cache = tmp_path / "firmados"
    cache.mkdir()
    digests = {}
    for i, cut_id in enumerate(["20210606_2000_PREP", "20210606_2010_PREP", "20210606_2020_PREP"]):
        (cut / "index.html").write_text(f"corte {i}")
        time_csv(cut, cut_id)
        m = manifest.build(cut, cut_id).stamped(stamp())
        data = m.to_bytes()
        digests[cut_id] = m.content_sha256
        (cache / f"{cut_id}.json").write_bytes(data)
        os.utime(cache / f"{cut_id}.json", (1000 + i, 1000 + i))
    (cache / "20210606_1950_PREP.json").write_text("{broken")
    got = known_from_cache(cache, but="20210606_2020_PREP", newest=2)
    assert list(got) == [digests["20210606_2010_PREP"], digests["20210606_2000_PREP"]]
    assert known_from_cache(tmp_path / "missing", but="x") == {}
    (cache / "20210606_2010_PREP.sig").write_bytes(b"sig")
    prune_signed(cache, keep=2)
    assert sorted(p.name for p in cache.iterdir()) == ["20210606_1950_PREP.json",
                                                       "20210606_2020_PREP.json"]


def test_zip_source(cut, tmp_path):
    z = tmp_path / "c.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for p in cut.rglob("*"):
            zf.write(p, p.relative_to(cut.parent).as_posix())
    with source.opened(z) as (folder, cut_id):
        assert cut_id == cut.name
        assert manifest.build(folder, cut_id).entries == manifest.build(cut).entries


def test_zip_escape_refused(tmp_path):
    z = tmp_path / "evil.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("../../etc/x", "x")
    with pytest.raises(PrepError, match="escapes"), source.opened(z):
        pass


def registry(tmp_path, names=("d1", "d2")):
    return Registry(
        difusores=tuple(DifusorEntry(n, "10.0.0.1", 22, "ssh-ed25519 AAAA", f"Org {n}",
                                     f"https://{n}.example/", {"name": "Ana", "phone": "1"})
                        for n in names),
        jail_user="iec", period_s=10, timezone="America/Monterrey", sftp_identity="x",
        signing_key="y", signers=("k",), drop_dir=str(tmp_path), state_dir=str(tmp_path))


def test_list_page_hides_suspended(tmp_path):
    reg = registry(tmp_path)
    assert Registry.from_json(json.loads(reg.dumps())) == reg
    led = Ledger(tmp_path / "l.sqlite", 10)
    for t in (0, 10, 20):
        led.record("d2", "failed", reason="timeout", now=t)
    html, js = listpage.render(reg, led, tmp_path / "lista")
    data = json.loads(js.read_text())["difusores"]
    assert data[0]["url"] == "https://d1.example/" and data[0]["estado"] == "activo"
    assert data[1]["url"] is None and data[1]["estado"] == "suspendido" and data[1]["aviso"]
    text = html.read_text()
    assert "https://d1.example/" in text and "https://d2.example/" not in text
    assert "Suspendido" in text


def test_the_publisher_signs_drill_material_until_the_prep_opens():
    from datetime import UTC, datetime

    from prep_iac.onhost.publisher.registry import Registry

    reg = Registry((), "iec", 600, "America/Monterrey", "k", "s", (), "/d", "/s",
                   process="prueba-2021", prep_opens="2021-06-06T18:00:00-05:00")
    assert reg.mode_at(datetime(2021, 6, 6, 22, 59, tzinfo=UTC)) == contract.DRILL
    assert reg.mode_at(datetime(2021, 6, 6, 23, 0, tzinfo=UTC)) == contract.PRODUCTION
    assert Registry(**{**reg.__dict__, "prep_opens": None}).mode_at() == contract.PRODUCTION
