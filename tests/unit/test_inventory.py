"""Each kind of inventory error gives its precise message: file, line, path, what, example."""

import copy
import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from examples import example_text

from prep_iac.inventory import InventoryError, load_inventory
from prep_iac.inventory.to_pyinfra import known_hosts_lines, pyinfra_inventory

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "inventories" / "example-difusor.yml"
EXAMPLE_IEC = REPO / "inventories" / "example-iec.yml"


@pytest.fixture
def base():
    return yaml.safe_load(example_text(EXAMPLE))


def problems(tmp_path, data=None, text=None):
    path = tmp_path / "inv.yml"
    path.write_text(text if text is not None else yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(InventoryError) as info:
        load_inventory(path)
    return [str(p) for p in info.value.problems]


def only(tmp_path, data=None, text=None):
    found = problems(tmp_path, data, text)
    assert len(found) == 1, found
    return found[0]


def test_examples_load():
    inv = load_inventory(EXAMPLE)
    assert list(inv.difusores) == ["difusor-1"]
    iec = load_inventory(EXAMPLE_IEC)
    assert list(iec.publishers) == ["publisher-1"]
    assert iec.difusores["difusor-ejemplo"].host_key.startswith("ssh-ed25519 ")


def test_missing_field(tmp_path, base):
    del base["difusores"]["difusor-1"]["server_names"]
    msg = only(tmp_path, base)
    assert "inv.yml:" in msg
    assert "difusores.difusor-1.server_names: required field is missing" in msg
    assert "Example: server_names: [prep.example.mx]" in msg


def test_wrong_type(tmp_path, base):
    base["iec"]["period_s"] = "ten"
    msg = only(tmp_path, base)
    assert "iec.period_s: input should be a valid integer" in msg and "'ten'" in msg
    assert msg.endswith("Example: period_s: 600")


def test_bad_cidr_with_host_bits(tmp_path, base):
    base["admins"]["networks"] = ["203.0.113.7/24"]
    msg = only(tmp_path, base)
    assert "admins.networks[0]: '203.0.113.7/24' has host bits set; did you mean 203.0.113.0/24?" in msg


def test_not_a_network(tmp_path, base):
    base["iec"]["sources"] = ["198.51.100.300/28"]
    assert "iec.sources[0]: '198.51.100.300/28' is not an IP network" in only(tmp_path, base)


def test_bad_key(tmp_path, base):
    base["admins"]["accounts"][0]["keys"] = ["ssh-ed25519 AAAAnot-base64!! me"]
    msg = only(tmp_path, base)
    assert "admins.accounts[0].keys[0]: not an SSH public key: its base64 part does not decode" in msg


def test_key_type_mismatch(tmp_path, base):
    key = base["iec"]["signers"][0].split()
    base["iec"]["signers"] = [f"ssh-rsa {key[1]}"]
    assert "it says 'ssh-rsa' but holds a 'ssh-ed25519' key" in only(tmp_path, base)


def test_dsa_refused(tmp_path, base):
    base["iec"]["signers"] = ["ssh-dss AAAAB3NzaC1kc3MAAACBAP1 old"]
    assert "key type 'ssh-dss' is not accepted" in only(tmp_path, base)


def test_unknown_key(tmp_path, base):
    base["difusores"]["difusor-1"]["colour"] = "blue"
    msg = only(tmp_path, base)
    assert "difusores.difusor-1.colour: unknown key 'colour'" in msg


def test_unknown_top_level_key(tmp_path, base):
    base["difusor"] = {}
    assert "difusor: unknown key 'difusor'" in only(tmp_path, base)


def test_duplicate_host_names_the_lines(tmp_path):
    text = example_text(EXAMPLE) + (
        "  difusor-1:\n    address: 203.0.113.11\n    server_names: [b.example.mx]\n"
        "    link_mbps: 10\n    ups: {driver: usbhid-ups}\n"
        "    emergency_power: {plant: P, evidence: p.pdf, tested_on: '2021-05-10'}\n")
    lines = text.splitlines()
    first, second = [i for i, line in enumerate(lines, 1) if line == "  difusor-1:"]
    msg = only(tmp_path, text=text)
    assert f"inv.yml:{second}: difusores.difusor-1: duplicate host 'difusor-1' (first at line {first})" in msg


def test_duplicate_endpoint(tmp_path, base):
    base["difusores"]["difusor-2"] = copy.deepcopy(base["difusores"]["difusor-1"])
    msg = only(tmp_path, base)
    assert "duplicate host: 'difusor-1' and 'difusor-2' are both 203.0.113.10 port 22" in msg \
        or "duplicate host: 'difusor-2' and 'difusor-1'" in msg


def test_bad_time_zone(tmp_path, base):
    base["iec"]["calendar"]["timezone"] = "America/Saltillo"
    msg = only(tmp_path, base)
    assert "iec.calendar.timezone: unknown time zone 'America/Saltillo'" in msg
    assert "Example: timezone: America/Monterrey" in msg


def test_the_former_window_names_the_calendar_that_replaced_it(tmp_path, base):
    base["iec"]["window"] = {"opens": "2021-06-06 18:00", "closes": "2021-06-15 23:59"}
    msg = only(tmp_path, base)
    assert "iec.window: unknown key 'window'; iec.calendar replaced it" in msg


def test_portal_origin_not_an_origin(tmp_path, base):
    base["difusores"]["difusor-1"]["portal_origins"] = ["www.example.mx", "https://a.mx/prep"]
    found = problems(tmp_path, base)
    assert any("portal_origins[0]: 'www.example.mx' is not an origin" in p for p in found)
    assert any("portal_origins[1]: 'https://a.mx/prep' is not an origin: it has a path" in p
               and "keep only https://a.mx" in p for p in found)


def test_line_numbers_point_at_the_value(tmp_path):
    text = example_text(EXAMPLE).replace("period_s: 600", "period_s: -1")
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "period_s: -1" in row)
    assert only(tmp_path, text=text).startswith(f"{tmp_path / 'inv.yml'}:{line}: iec.period_s:")


def test_ssh_user_must_be_an_admin(tmp_path, base):
    base["difusores"]["difusor-1"]["ssh_user"] = "someone"
    assert "connects as 'someone', which is not in admins.accounts" in only(tmp_path, base)


def test_publishers_need_pinned_difusores(tmp_path):
    data = yaml.safe_load(EXAMPLE_IEC.read_text())
    del data["difusores"]["difusor-ejemplo"]["host_key"]
    assert "has no host_key: a publisher pushes only to pinned host keys" in only(tmp_path, data)


def test_ha_peer_must_name_back(tmp_path, base):
    base["difusores"]["difusor-1"]["ha"] = {"peer": "difusor-2", "floating_address": "203.0.113.20/24"}
    assert "names HA peer 'difusor-2', which is not a difusor" in only(tmp_path, base)


def test_invalid_yaml_names_the_line(tmp_path):
    from prep_iac.errors import PrepError

    path = tmp_path / "inv.yml"
    path.write_text("iec:\n  sources: [a, b\nadmins: {}\n")
    with pytest.raises(PrepError) as info:
        load_inventory(path)
    assert f"{path}:3: not valid YAML" in info.value.cause


def _self_signed(tmp_path, name):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(1).not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_tls_files_good_pair_loads(tmp_path, base):
    cert, key = _self_signed(tmp_path, "prep.example.mx")
    base["difusores"]["difusor-1"]["tls"] = {"mode": "files", "cert": str(cert), "key": str(key)}
    path = tmp_path / "inv.yml"
    path.write_text(yaml.safe_dump(base))
    assert load_inventory(path).difusores["difusor-1"].tls.cert == str(cert)


def test_tls_cert_not_matching_key(tmp_path, base):
    cert, _ = _self_signed(tmp_path, "prep.example.mx")
    _, other_key = _self_signed(tmp_path, "other.example.mx")
    base["difusores"]["difusor-1"]["tls"] = {"mode": "files", "cert": str(cert), "key": str(other_key)}
    assert f"certificate {cert} does not match key {other_key}" in only(tmp_path, base)


def test_tls_cert_wrong_name(tmp_path, base):
    cert, key = _self_signed(tmp_path, "other.example.mx")
    base["difusores"]["difusor-1"]["tls"] = {"mode": "files", "cert": str(cert), "key": str(key)}
    assert "does not cover prep.example.mx" in only(tmp_path, base)


def test_relative_paths_resolve_beside_the_inventory(tmp_path, base):
    base["difusores"]["difusor-1"]["ssh_key"] = "keys/admin"
    path = tmp_path / "inv.yml"
    path.write_text(yaml.safe_dump(base))
    assert load_inventory(path).difusores["difusor-1"].ssh_key == str(tmp_path / "keys" / "admin")


def test_example_loads_into_pyinfra():
    inventory = pyinfra_inventory(EXAMPLE_IEC)
    hosts = {h.name: h for h in inventory}
    assert set(hosts) == {"difusor-ejemplo", "publisher-1", "web-iec"}
    assert hosts["web-iec"].data.prep.role == "website"
    assert [h.name for h in inventory.get_group("websites")] == ["web-iec"]
    publisher = hosts["publisher-1"]
    assert publisher.data.ssh_hostname == "198.51.100.2"
    assert publisher.data.ssh_user == "operador" and publisher.data._sudo is True
    assert publisher.data.prep.role == "publisher"
    assert [h.name for h in inventory.get_group("publishers")] == ["publisher-1"]
    assert hosts["difusor-ejemplo"].data.ssh_strict_host_key_checking == "yes"
    pins = Path(hosts["difusor-ejemplo"].data.ssh_known_hosts_file).read_text().splitlines()
    assert pins == known_hosts_lines(load_inventory(EXAMPLE_IEC))


def test_processes_loading_one_inventory_at_once_share_its_known_hosts(tmp_path, monkeypatch):
    """The drill deploys difusores and publishers at once: two pyinfra processes write the
    same inventory's known_hosts for the first time together, and neither may fail."""
    import multiprocessing as mp

    from prep_iac.inventory.to_pyinfra import write_known_hosts

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    inventory = load_inventory(EXAMPLE_IEC)
    ctx = mp.get_context("fork")
    for attempt in range(10):  # each attempt a new path: a first write every time
        path = tmp_path / f"inv-{attempt}.yml"
        start = ctx.Barrier(6)

        def write(start=start, path=path):
            start.wait()
            write_known_hosts(inventory, path)

        procs = [ctx.Process(target=write) for _ in range(6)]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join(30)
        assert [proc.exitcode for proc in procs] == [0] * 6
        written = write_known_hosts(inventory, path).read_text().splitlines()
        assert written == known_hosts_lines(inventory)
    leftovers = [p.name for p in (tmp_path / "cache" / "prep-iac").iterdir()
                 if not p.name.startswith("known_hosts-")]
    assert leftovers == []


def test_plain_pyinfra_reads_the_shim():
    """`pyinfra inventories/example-iec.py ...` sees the YAML's hosts and data."""
    pyinfra = Path(sys.executable).with_name("pyinfra")
    result = subprocess.run([str(pyinfra), str(REPO / "inventories" / "example-iec.py"),
                             "debug-inventory"], capture_output=True, text=True, cwd=REPO, check=False)
    assert result.returncode == 0, result.stderr
    shown = result.stdout + result.stderr  # pyinfra prints its debug views on stderr
    assert '"ssh_hostname": "198.51.100.2"' in shown and '"role": "publisher"' in shown


def test_cli_check_exit_codes(tmp_path, base):
    prep = Path(sys.executable).with_name("prep-iac")
    ok = subprocess.run([str(prep), "inventory", "check", "-i", str(EXAMPLE)],
                        capture_output=True, text=True, check=False)
    assert ok.returncode == 0 and "valid" in ok.stdout
    base["iec"]["calendar"]["timezone"] = "Mars/Olympus"
    bad = tmp_path / "bad.yml"
    bad.write_text(yaml.safe_dump(base))
    failed = subprocess.run([str(prep), "inventory", "check", "-i", str(bad)],
                            capture_output=True, text=True, check=False)
    assert failed.returncode == 2
    assert "unknown time zone 'Mars/Olympus'" in failed.stderr and "fix:" in failed.stderr


@pytest.mark.parametrize("field,why", [
    ("ups", "CONV-II.e"), ("emergency_power", "emergency power plant"),
    ("link_mbps", "CONV-II.b.1")])
def test_what_the_call_requires_is_refused_when_missing_with_the_field_named(tmp_path, base,
                                                                               field, why):
    """No UPS, no emergency plant, no declared link: refused, never "no aplica" or 10 Mbps."""
    del base["difusores"]["difusor-1"][field]
    msg = only(tmp_path, base)
    assert f"difusores.difusor-1.{field}: required field is missing: the call" in msg
    assert why in msg and "Example:" in msg


def test_emergency_plant_document_is_validated(tmp_path, base):
    base["difusores"]["difusor-1"]["emergency_power"]["tested_on"] = "ayer"
    assert "difusores.difusor-1.emergency_power.tested_on" in only(tmp_path, base)
    base["difusores"]["difusor-1"]["emergency_power"] = {"plant": "P\nQ", "evidence": "p.pdf",
                                                         "tested_on": "2021-05-10"}
    assert "emergency_power.plant" in only(tmp_path, base)


def test_emergency_plant_document_resolves_beside_the_inventory():
    power = load_inventory(EXAMPLE).difusores["difusor-1"].emergency_power
    assert Path(power.evidence) == EXAMPLE.parent / "evidencias" / "planta-emergencia.md"
    assert Path(power.evidence).is_file()
