"""Manifests, signatures, delta, cut sources, the list page."""

import hashlib
import json
import os
import subprocess
import zipfile

import pytest

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
    return root


def test_manifest_fields(cut):
    m = manifest.build(cut)
    assert m.cut_id == "20210606_2000_PREP_AYUN_COAH"
    assert m.timestamp == "2021-06-06T20:00:00-05:00"
    doc = json.loads(m.to_bytes())
    assert doc["formato"] == manifest.FORMAT
    assert {a["ruta"] for a in doc["archivos"]} == {"index.html", "actas/1.jpg"}
    assert manifest.Manifest.from_json(doc) == m


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
    m = manifest.build(cut)
    served = delta.have_of_served(json.loads(m.to_bytes()))
    assert served == delta.have_of_manifest(m)
    assert delta.missing(m, served) == []
    assert len(delta.missing(m, delta.have_of_served(None))) == 2
    (cut / "index.html").write_text("adios")
    (cut / "renamed.jpg").write_bytes(b"\xff" * 1000)  # same content, new name: not sent
    assert [e.path for e in delta.missing(manifest.build(cut), served)] == ["index.html"]


def test_known_bases_are_keyed_by_the_signed_bytes(cut):
    """The difusor names its served manifest by the SHA-256 of the bytes it verified; the
    publisher's copy is used only for those exact bytes."""
    m = manifest.build(cut)
    data = m.to_bytes()
    known = delta.known_bases([data])
    assert known == {hashlib.sha256(data).hexdigest(): delta.have_of_manifest(m)}
    assert hashlib.sha256(data + b" ").hexdigest() not in known
    with pytest.raises(ValueError):
        delta.base_of(b"{broken")


def test_known_from_cache_reads_the_newest_cached_cuts_and_prune_keeps_them(cut, tmp_path):
    from prep_iac.onhost.publisher.run import known_from_cache, prune_signed

    cache = tmp_path / "firmados"
    cache.mkdir()
    digests = {}
    for i, cut_id in enumerate(["20210606_2000_PREP", "20210606_2010_PREP", "20210606_2020_PREP"]):
        data = manifest.build(cut, cut_id).to_bytes()
        digests[cut_id] = hashlib.sha256(data).hexdigest()
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
