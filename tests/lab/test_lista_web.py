"""The public list of difusores on the lab's Institute web host (CONV-I.7, III.2): the
publisher service pushes it there, nginx serves it; a difusor its publisher cannot reach is
suspended and its link leaves the page within one period, and comes back when it recovers.

    PREP_LAB_NAME=hlist PREP_LAB_SUBNET=10.74.0.0/24 PREP_LAB_DIFUSORES=2 \\
        PREP_LAB_WEBSITES=1 .venv/bin/pytest -m lab tests/lab/test_lista_web.py

Without PREP_LAB_WEBSITES=1 (the whole lab suite in one session) the module adds website-1
to the session's lab. It starts from blank difusores and leaves them blank, and the
publisher back on the lab's own inventory, for the modules after it.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "pipeline"))
from helpers import blank, deploy, ensure_inotify, make_cut, sh, site

from prep_iac import contract
from prep_iac.inventory import load_inventory
from prep_iac.onhost.publisher import listpage, listpush
from prep_iac.publish.cli import REMOTE_STATUS

pytestmark = pytest.mark.lab
PERIOD_S = 6
DEPLOY = "tests/lab/lista/deploy_lista.py"
# difusor-1's logo is a file the publisher pushes (the example's); difusor-2's a URL.
PNG = (Path(__file__).parents[2] / "inventories" / "logo-ejemplo.png").read_bytes()
LOGO_URL = "https://logos.example.mx/difusor-2.png"
CUT = "20210606_2100_PREP_AYUN_COAH"


UNITS = "prep-publisher.timer prep-publisher.path"


def with_list(inv, tmp: Path) -> Path:
    """The lab's inventory with a drill's period and the two kinds of logo."""
    (tmp / "logo.png").write_bytes(PNG)
    difusores = {n: d.model_dump(mode="json", by_alias=True, exclude_unset=True)
                 for n, d in inv.difusores.items()}
    difusores["difusor-1"]["logo"] = str(tmp / "logo.png")
    difusores["difusor-2"]["logo"] = LOGO_URL
    path = tmp / "lista.yml"
    path.write_text(inv.with_changes(iec=inv.iec.with_changes(period_s=PERIOD_S),
                                     difusores=difusores).dump())
    return path


@pytest.fixture(scope="module")
def lista(lab, tmp_path_factory):
    inv = load_inventory(lab.inventory_path)
    if len(inv.difusores) < 2 or not inv.publishers:
        pytest.fail("the list's tests need 2 difusores and a publisher: PREP_LAB_DIFUSORES=2",
                    pytrace=False)
    if not inv.websites:  # the session's lab grows the Institute's web host (.251)
        lab.up(difusores=len(inv.difusores), publishers=len(inv.publishers), websites=1)
        inv = load_inventory(lab.inventory_path)
    ensure_inotify()
    publisher = next(iter(inv.publishers))
    state_dir = inv.publishers[publisher].state_dir
    for name in inv.difusores:
        blank(lab, name)
    sh(lab, publisher, f"sudo rm -f {state_dir}/{listpush.PUSHED}")
    tmp = tmp_path_factory.mktemp("lista")
    path = with_list(inv, tmp)
    first = deploy(lab, DEPLOY, inventory=path)
    assert first[0], first[2][-4000:]
    second = deploy(lab, DEPLOY, inventory=path)
    web = next(iter(inv.websites.values()))
    try:
        yield SimpleNamespace(lab=lab, inv=load_inventory(path), path=path, tmp=tmp,
                              second=second, url=web.public_url, publisher=publisher)
    finally:
        # The modules after this one get the lab's publisher back (its period, nothing in
        # its drop folder) and difusores that never got this module's cut.
        sh(lab, publisher, f"sudo systemctl stop {UNITS}; sudo rm -rf "
                           f"{contract.PUBLISHER_DROP_DIR}/{CUT} {state_dir}/desempacados",
           check=False)
        for name in inv.difusores:
            blank(lab, name)
        assert deploy(lab, DEPLOY, inventory=lab.inventory_path)[0]


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


def served(lista) -> tuple[dict, str]:
    status, body = get(lista.url + contract.LIST_JSON)
    assert status == 200, status
    page_status, page = get(lista.url)
    assert page_status == 200, page_status
    return json.loads(body), page.decode()


def ledger_state(lista, name: str) -> str:
    rows = json.loads(sh(lista.lab, lista.publisher, REMOTE_STATUS))
    return next((r["state"] for r in rows if r["difusor"] == name), "active")


def by_name(doc: dict) -> dict:
    return {d["nombre"]: d for d in doc["difusores"]}


def wait_for(what, check, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.5)
    raise AssertionError(f"{what}: not within {timeout} s")


def test_deploy_is_idempotent(lista):
    ok, changed, out = lista.second
    assert ok, out[-4000:]
    assert changed == 0, out[-4000:]


def test_the_web_host_serves_the_list_with_logos_and_links(lista):
    folder = make_cut(lista.tmp, CUT, site(seed=b"l"))
    drop = contract.PUBLISHER_DROP_DIR
    subprocess.run(["scp", "-q", "-r", "-F", str(lista.lab.ssh_config_path), str(folder),
                    f"{lista.publisher}:/tmp/"], check=True, timeout=120)
    sh(lista.lab, lista.publisher,
       f"sudo cp -r /tmp/{folder.name} {drop}/.{folder.name} && "
       f"sudo chown -R {contract.PUBLISHER_USER}: {drop}/.{folder.name} && "
       f"sudo mv {drop}/.{folder.name} {drop}/{folder.name}")

    def both_active():
        if get(lista.url + contract.LIST_JSON)[0] == 404:
            return None  # the publisher's first round after the deploy has not pushed yet
        doc, page = served(lista)
        rows = by_name(doc)
        return (doc, page) if all(rows.get(n, {}).get("url") for n in lista.inv.difusores) \
            else None
    doc, page = wait_for("both difusores listed with their links", both_active, 90)
    rows = by_name(doc)
    for name, d in lista.inv.difusores.items():
        assert rows[name]["estado"] == "activo" and rows[name]["url"] == d.public_url
        assert f'href="{d.public_url}"' in page
    assert rows["difusor-1"]["logo"] == "logos/difusor-1.png"
    assert rows["difusor-2"]["logo"] == LOGO_URL
    assert get(lista.url + "logos/difusor-1.png") == (200, PNG)
    assert f'src="{LOGO_URL}"' in page and 'src="logos/difusor-1.png"' in page
    # No copy half-written or left behind is ever served.
    assert get(lista.url + f".tmp-{contract.LIST_HTML}")[0] == 404
    check = subprocess.run([sys.executable, "-m", "prep_iac.cli", "lista", "check", "-i",
                            str(lista.path), "--remote"], capture_output=True, text=True,
                           timeout=120, check=False)
    assert check.returncode == 0, check.stdout + check.stderr


def _block(lab, difusor: str, publisher_address: str, on: bool) -> None:
    """difusor's firewall rejects its publisher's SSH (the IEC's pushes), or stops doing so."""
    if on:
        sh(lab, difusor, "sudo nft add table inet prep_lista_test && sudo nft add chain inet "
                         "prep_lista_test in '{ type filter hook input priority -10; }' && "
                         f"sudo nft add rule inet prep_lista_test in ip saddr {publisher_address}"
                         " tcp dport 22 reject with tcp reset")
    else:
        sh(lab, difusor, "sudo nft delete table inet prep_lista_test", check=False)


def _timed(lista, name, ledger_says, page_says, timeout):
    """Seconds from the ledger's change (read on the publisher) to the served page's."""
    seen_ledger = seen_page = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and seen_page is None:
        if seen_ledger is None and ledger_state(lista, name) == ledger_says:
            seen_ledger = time.monotonic()
        doc, page = served(lista)
        if by_name(doc)[name]["estado"] == page_says:
            seen_page = time.monotonic()
            if seen_ledger is None:  # both changed between two looks
                seen_ledger = seen_page
        time.sleep(0.3)
    assert seen_page is not None, f"{name} not shown {page_says} within {timeout} s"
    return seen_page - seen_ledger, doc, page


def test_a_suspended_difusor_loses_its_link_within_one_period_and_recovers(lista):
    lab, name = lista.lab, "difusor-2"
    link = lista.inv.difusores[name].public_url
    publisher_address = lista.inv.publishers[lista.publisher].address
    _block(lab, name, publisher_address, True)
    try:
        # Three failed periods suspend it (CONV-III.2); the page follows in the same round.
        lag, doc, page = _timed(lista, name, "suspended", "suspendido",
                                timeout=PERIOD_S * 8 + 30)
        print(f"suspension: the served page followed the ledger {lag:.1f} s later")
        assert lag <= PERIOD_S, f"the page followed the suspension {lag:.1f} s later"
        assert by_name(doc)[name]["url"] is None
        assert f'href="{link}"' not in page
        assert listpage.SUSPENDED_NOTICE.split(":")[0] in page
        assert by_name(doc)["difusor-1"]["url"]  # the other one keeps its link
    finally:
        _block(lab, name, publisher_address, False)
    lag, doc, page = _timed(lista, name, "active", "activo", timeout=PERIOD_S * 4 + 30)
    print(f"recovery: the served page followed the ledger {lag:.1f} s later")
    assert lag <= PERIOD_S, f"the page followed the recovery {lag:.1f} s later"
    assert by_name(doc)[name]["url"] == link and f'href="{link}"' in page


def test_lista_check_reports_a_list_that_differs_from_the_ledger(lista):
    """What the check is for: a served page that is not what the ledger says (here edited on
    the web host by hand) is a difference, and exit 1."""
    served_dir = f"{contract.LIST_JAIL}/{contract.LIST_PUBLIC}"
    doc, _ = served(lista)
    for d in doc["difusores"]:
        d["url"] = None
    sh(lista.lab, "website-1", f"echo {shlex.quote(json.dumps(doc))} | sudo tee "
                               f"{served_dir}/{contract.LIST_JSON} >/dev/null")
    check = subprocess.run([sys.executable, "-m", "prep_iac.cli", "lista", "check", "-i",
                            str(lista.path), "--remote"], capture_output=True, text=True,
                           timeout=120, check=False)
    assert check.returncode == 1, check.stdout + check.stderr
    assert "difusor-1: url publicado None" in check.stdout


def test_the_memoria_baseline_reads_a_portals_logs_over_ssh(lista, tmp_path):
    """memoria collect's portal_logs from a host (here the lab's web host, whose nginx logged
    this module's requests today): over SSH with the pinned key, through sudo as the lab's
    admin cannot read the logs itself."""
    from datetime import UTC, datetime, timedelta

    from prep_iac.inventory.schema import PortalLogs
    from prep_iac.memoria import baseline, parse

    web = lista.inv.websites["website-1"]
    portal = PortalLogs(address=web.address, ssh_user=lista.inv.ssh_user("website-1"),
                        ssh_key=web.ssh_key, host_key=web.host_key, days=1)
    tomorrow = datetime.now(UTC).astimezone() + timedelta(days=1)
    got = baseline.collect_portal(portal, tmp_path, tomorrow)  # baseline: today
    assert "access.log" in got["archivos"]
    parsed = parse.parse_logs(parse.log_files(tmp_path / baseline.BASELINE_DIR))
    assert parsed.parsed > 0
