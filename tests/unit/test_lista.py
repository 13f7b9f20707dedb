"""The public list of difusores (CONV-I.7, III.2): what it shows, from when, how it is pushed
only on a change, and how `lista check` compares a published list with the ledger."""

import json
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from prep_iac import contract
from prep_iac.inventory import InventoryError, load_inventory
from prep_iac.onhost.publisher import listpage, listpush
from prep_iac.onhost.publisher.ledger import Ledger
from prep_iac.onhost.publisher.registry import DifusorEntry, Registry, WebsiteEntry
from prep_iac.publish.listcheck import States, differences
from prep_iac.publish.registry import from_inventory

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_IEC = REPO / "inventories" / "example-iec.yml"
LIST_FROM = "2021-06-01T00:00:00-06:00"
BEFORE = datetime(2021, 5, 31, 12, tzinfo=UTC)
AFTER = datetime(2021, 6, 2, 12, tzinfo=UTC)
HOSTILE_ORG = '<script>alert("x")</script> & Cía'
HOSTILE_URL = 'https://d2.example/"><script>alert(1)</script>'
PNG = (Path(__file__).parents[2] / "inventories" / "logo-ejemplo.png").read_bytes()


def registry(tmp_path, **changes) -> Registry:
    difusores = (
        DifusorEntry("d1", "10.0.0.1", 22, "ssh-ed25519 AAAA", "Org 1", "https://d1.example/",
                     logo=str(tmp_path / "d1.png")),
        DifusorEntry("d2", "10.0.0.2", 22, "ssh-ed25519 AAAA", HOSTILE_ORG, HOSTILE_URL,
                     logo="https://d2.example/logo.png"),
    )
    (tmp_path / "d1.png").write_bytes(PNG)
    reg = Registry(difusores=difusores, jail_user="iec", period_s=10,
                   timezone="America/Monterrey", sftp_identity=str(tmp_path / "key"),
                   signing_key="y", signers=("k",), drop_dir=str(tmp_path),
                   state_dir=str(tmp_path), list_from=LIST_FROM,
                   websites=(WebsiteEntry("web", "10.0.0.9", 22, "ssh-ed25519 AAAA",
                                          "http://10.0.0.9/"),))
    return Registry(**{**reg.__dict__, **changes})


def suspend(ledger, name):
    for t in (0, 10, 20):
        ledger.record(name, "failed", reason="timeout", now=t)


class Tags(HTMLParser):
    def __init__(self, html):
        super().__init__()
        self.tags = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


@pytest.fixture
def ledger(tmp_path):
    led = Ledger(tmp_path / "ledger.sqlite", 10)
    yield led
    led.close()


def test_names_and_urls_are_escaped_where_they_land(tmp_path, ledger):
    reg = registry(tmp_path)
    html = listpage.texts(reg, ledger, AFTER)[contract.LIST_HTML]
    tags = Tags(html).tags
    assert [t for t, _ in tags].count("script") == 0
    links = [a for t, a in tags if t == "a"]
    # The hostile URL stays one attribute value, whole: no attribute or tag escapes it.
    assert [a["href"] for a in links] == ["https://d1.example/", HOSTILE_URL]
    assert all(set(a) == {"href", "rel"} for a in links)
    images = [a for t, a in tags if t == "img"]
    assert [i["src"] for i in images] == ["logos/d1.png", "https://d2.example/logo.png"]
    assert images[1]["alt"] == f"Logotipo de {HOSTILE_ORG}"
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Cía" in html


def test_the_json_has_spanish_keys_and_every_difusor(tmp_path, ledger):
    reg = registry(tmp_path)
    doc = json.loads(listpage.texts(reg, ledger, AFTER)[contract.LIST_JSON])
    assert set(doc) == {"actualizado", "difusores"}
    assert [set(d) for d in doc["difusores"]] == [
        {"nombre", "organizacion", "url", "logo", "estado", "aviso"}] * 2
    d1, d2 = doc["difusores"]
    assert d1 == {"nombre": "d1", "organizacion": "Org 1", "url": "https://d1.example/",
                  "logo": "logos/d1.png", "estado": "activo", "aviso": None}
    assert d2["organizacion"] == HOSTILE_ORG and d2["url"] == HOSTILE_URL


def test_before_its_date_the_public_list_only_says_when(tmp_path, ledger):
    reg = registry(tmp_path)
    public = listpage.texts(reg, ledger, BEFORE)
    doc = json.loads(public[contract.LIST_JSON])
    assert doc["difusores"] == [] and doc["publica_desde"] == LIST_FROM
    page = public[contract.LIST_HTML]
    assert "será pública a partir del 1 de junio de 2021" in page
    assert "d1.example" not in page and "<a " not in page
    assert [name for name, _ in listpush.files_to_push(reg, ledger, BEFORE)] == [
        contract.LIST_JSON, contract.LIST_HTML]  # no logo either
    # The publisher's own copy is the whole list whatever the date (the drill reads it).
    own = json.loads(listpage.texts(reg, ledger, BEFORE, public=False)[contract.LIST_JSON])
    assert [d["nombre"] for d in own["difusores"]] == ["d1", "d2"]


def test_logos_land_before_the_page_that_shows_them(tmp_path, ledger):
    reg = registry(tmp_path)
    pushed = listpush.files_to_push(reg, ledger, AFTER)
    assert [name for name, _ in pushed] == ["logos/d1.png", contract.LIST_JSON,
                                            contract.LIST_HTML]
    assert pushed[0][1] == PNG


def test_suspension_removes_the_link_and_recovery_restores_it(tmp_path, ledger):
    reg = registry(tmp_path)
    active = listpage.digest(reg, ledger, AFTER)
    suspend(ledger, "d1")
    page = listpage.texts(reg, ledger, AFTER)[contract.LIST_HTML]
    assert 'href="https://d1.example/"' not in page and "Suspendido" in page
    assert listpage.digest(reg, ledger, AFTER) != active  # a change: pushed this round
    ledger.record("d1", "activated", cut="C", now=30)
    page = listpage.texts(reg, ledger, AFTER)[contract.LIST_HTML]
    assert 'href="https://d1.example/"' in page and "Suspendido" not in page
    assert listpage.digest(reg, ledger, AFTER) == active


def test_the_digest_changes_only_with_what_the_list_says(tmp_path, ledger):
    reg = registry(tmp_path)
    first = listpage.digest(reg, ledger, AFTER)
    assert listpage.digest(reg, ledger, datetime(2021, 6, 3, tzinfo=UTC)) == first
    assert listpage.digest(reg, ledger, BEFORE) != first  # the date reached is a change
    (tmp_path / "d1.png").write_bytes(PNG + b"new")
    assert listpage.digest(reg, ledger, AFTER) != first  # so is a new logo


def test_the_list_is_pushed_only_when_it_changed(tmp_path, ledger, monkeypatch):
    reg = registry(tmp_path)
    pushes, lines = [], []
    monkeypatch.setattr(listpush, "load_private_key", lambda path: "key")
    monkeypatch.setattr(listpush, "push_to", lambda web, key, files, timeout: pushes.append(
        [name for name, _ in files]))
    monkeypatch.setattr(listpush.notify, "journal", lines.append)
    assert listpush.publish_list(reg, ledger, AFTER) is True
    assert listpush.publish_list(reg, ledger, AFTER) is False  # nothing new
    suspend(ledger, "d2")
    assert listpush.publish_list(reg, ledger, AFTER) is True
    assert len(pushes) == 2 and lines == ["public list pushed to web (http://10.0.0.9/)"] * 2


def test_a_failed_push_is_tried_again_next_round(tmp_path, ledger, monkeypatch):
    reg = registry(tmp_path)
    lines = []
    monkeypatch.setattr(listpush, "load_private_key", lambda path: "key")
    monkeypatch.setattr(listpush.notify, "journal", lines.append)

    def refused(web, key, files, timeout):
        raise listpush.PushError("cannot connect to 10.0.0.9:22: Connection refused")
    monkeypatch.setattr(listpush, "push_to", refused)
    assert listpush.publish_list(reg, ledger, AFTER) is False
    assert lines == [("public list not pushed to web: cannot connect to 10.0.0.9:22: "
                      "Connection refused")]
    assert not (tmp_path / listpush.PUSHED).exists()
    monkeypatch.setattr(listpush, "push_to", lambda *a: None)
    assert listpush.publish_list(reg, ledger, AFTER) is True


def test_no_web_host_no_push(tmp_path, ledger):
    assert listpush.publish_list(registry(tmp_path, websites=()), ledger, AFTER) is False


def _published(reg, ledger, now=AFTER):
    texts = listpage.texts(reg, ledger, now)
    return json.loads(texts[contract.LIST_JSON]), texts[contract.LIST_HTML]


def test_check_agrees_with_the_list_the_publisher_pushed(tmp_path, ledger):
    reg = registry(tmp_path)
    suspend(ledger, "d2")
    states = States({"d2": "suspended"})
    assert differences(reg, states, *_published(reg, ledger)) == []
    assert differences(reg, States({}), *_published(reg, Ledger(tmp_path / "b", 10)),
                       now=AFTER) == []
    assert differences(reg, states, *_published(reg, ledger, BEFORE), now=BEFORE) == []


def test_check_names_each_difference(tmp_path, ledger):
    reg = registry(tmp_path)
    doc, html = _published(reg, ledger)  # both active
    found = differences(reg, States({"d2": "suspended"}), doc, html)
    assert found == [
        ("d2: url publicado 'https://d2.example/\"><script>alert(1)</script>', el registro "
         "dice None"),
        "d2: estado publicado 'activo', el registro dice 'suspendido'",
        f"d2: suspendido, pero la página aún tiene su enlace {HOSTILE_URL}"]
    doc["difusores"] = doc["difusores"][:1]
    assert "d2: falta en difusores.json" in differences(reg, States({}), doc, html)
    before = differences(reg, States({}), *_published(reg, ledger), now=BEFORE)
    assert before[0] == f"la lista muestra 2 difusores antes de su fecha ({LIST_FROM})"


def _iec(tmp_path, mutate) -> Path:
    data = yaml.safe_load(EXAMPLE_IEC.read_text())
    mutate(data)
    path = tmp_path / "iec.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _problem(path) -> str:
    with pytest.raises(InventoryError) as info:
        load_inventory(path)
    (problem,) = info.value.problems
    return str(problem)


def test_the_example_names_the_web_host_and_the_registry_carries_it():
    inv = load_inventory(EXAMPLE_IEC)
    reg = from_inventory(inv)
    (web,) = reg.websites
    assert web.name == "web-iec" and web.public_url == "https://www.iec.org.mx/prep/difusores/"
    assert reg.list_from == "2021-06-01T00:00:00-05:00"
    assert Registry.from_json(json.loads(reg.dumps())) == reg


def test_a_logo_file_is_read_beside_the_inventory_and_installed_under_the_difusor(tmp_path):
    (tmp_path / "logo.png").write_bytes(PNG)

    def logo(data):
        data["difusores"]["difusor-ejemplo"]["logo"] = "logo.png"
    inv = load_inventory(_iec(tmp_path, logo))
    assert inv.difusores["difusor-ejemplo"].logo == str(tmp_path / "logo.png")
    reg = from_inventory(inv, logos_dir=contract.PUBLISHER_LOGOS)
    assert reg.difusores[0].logo == f"{contract.PUBLISHER_LOGOS}/difusor-ejemplo.png"
    assert listpage.logo_href(reg.difusores[0]) == "logos/difusor-ejemplo.png"


@pytest.mark.parametrize("content, name, says", [
    (None, "falta.png", "does not exist"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "l.svg",
     "is an SVG"),
    (b"GIF89a" + b"\0" * 10, "l.png", "is neither a PNG nor a JPEG"),
    (PNG[:-12] + b"\0" * 300_000 + PNG[-12:], "l.png", "more than 256 KiB"),
    (PNG, "l.jpg", "name it .png"),
])
def test_a_logo_file_the_list_cannot_use_is_refused(tmp_path, content, name, says):
    if content is not None:
        (tmp_path / name).write_bytes(content)

    def logo(data):
        data["difusores"]["difusor-ejemplo"]["logo"] = name
    problem = _problem(_iec(tmp_path, logo))
    assert "difusores.difusor-ejemplo.logo" in problem and says in problem


def test_a_logo_url_with_quotes_is_refused(tmp_path):
    def logo(data):
        data["difusores"]["difusor-ejemplo"]["logo"] = 'https://x.mx/a".png'
    assert "must be percent-encoded" in _problem(_iec(tmp_path, logo))


@pytest.mark.parametrize("mutate, says", [
    (lambda w: w.pop("host_key"), "has no host_key: the publisher pushes the list only"),
    (lambda w: w.update(public_url="https://www.iec.org.mx/lista?x=1"), "is a folder"),
    (lambda w: w.update(public_url="https://www.iec.org.mx/a b/"), "percent-encoded"),
    (lambda w: w.update(server_names=[]), "server_names"),
])
def test_the_web_host_is_validated(tmp_path, mutate, says):
    problem = _problem(_iec(tmp_path, lambda data: mutate(data["websites"]["web-iec"])))
    assert says in problem


def test_a_web_host_needs_a_publisher(tmp_path):
    def drop(data):
        del data["publishers"]
    assert "'websites' serve the list a publisher pushes" in _problem(_iec(tmp_path, drop))


def test_the_web_hosts_configs_from_the_example():
    from prep_iac.components import website
    from prep_iac.inventory.hostconfig import HostConfig

    cfg = HostConfig(load_inventory(EXAMPLE_IEC), EXAMPLE_IEC, "web-iec", "website")
    site = website.site(cfg)
    assert "server_name www.iec.org.mx;" in site
    assert "location ^~ /prep/difusores/ {" in site
    assert f"alias {contract.LIST_JAIL}/{contract.LIST_PUBLIC}/;" in site
    assert f"index {contract.LIST_HTML};" in site
    drop_in = website.drop_in(cfg)
    # Only the publishers may even try; the account is chrooted to SFTP in the served folder.
    assert f"Match User {contract.LIST_USER} Address *,!198.51.100.2\n" in drop_in
    assert f"ChrootDirectory {contract.LIST_JAIL}\n" in drop_in
    assert "ForceCommand internal-sftp -d /publico -u 022 -P symlink,hardlink" in drop_in
    assert website.served_path("https://x.mx") == "/"
