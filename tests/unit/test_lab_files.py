"""What the lab writes: inventory YAML (loadable by the project's schema), ssh_config,
known_hosts, per-host files, and the mirror it reads."""

import datetime as dt
import subprocess
from pathlib import Path

import yaml

from prep_iac.lab import inventory as lab_inventory
from prep_iac.lab import keys, mirror, rootfs


def _keys(tmp_path):
    for name in ("id_lab", "iec_sftp", "iec_signing"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f",
                        str(tmp_path / name)], check=True)
    return lab_inventory.LabKeys(tmp_path / "id_lab", tmp_path / "iec_sftp",
                                 tmp_path / "iec_signing")


def _host_key(tmp_path, name):
    path = tmp_path / f"host_{name}"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return keys.without_comment((tmp_path / f"host_{name}.pub").read_text())


def test_the_labs_prep_opens_an_hour_before_and_stays_up_ten_days_after():
    now = dt.datetime(2026, 6, 6, 18, 30, 42, tzinfo=dt.UTC)
    cal = lab_inventory.calendar(now)
    assert (cal["prep_opens"], cal["prep_closes"], cal["publication_ends"]) == (
        "2026-06-06 11:30", "2026-06-07 10:30", "2026-06-16 12:30")
    assert cal["timezone"] == "America/Monterrey" and cal["accelerated"] is True
    # the earlier stages, in order, in the days before the opening
    assert (cal["notice_by"] <= cal["installation"]["from"] <= cal["drills"]["from"]
            <= cal["drills"]["to"] < cal["public_list_from"] < "2026-06-06")


def test_the_labs_process_is_named_after_the_lab():
    assert lab_inventory.process_id("labdev") == "lab-labdev"
    assert lab_inventory.process_id("Lab_X") == "lab-lab-x"


def test_inventory_has_the_hand_written_format_and_loads(tmp_path):
    lab_keys = _keys(tmp_path)
    hosts = [lab_inventory.LabHost("difusor-1", "10.81.0.11", _host_key(tmp_path, "d1")),
             lab_inventory.LabHost("publisher-1", "10.81.0.201", _host_key(tmp_path, "p1"))]
    data = lab_inventory.build("labdev", "10.81.0.0/24", hosts, lab_keys)
    path = lab_inventory.write(tmp_path / "lab-labdev.yml", "labdev", "10.81.0.0/24", data)
    doc = yaml.safe_load(path.read_text())
    assert list(doc) == ["iec", "admins", "difusores", "publishers"]
    assert doc["iec"]["sources"] == ["10.81.0.0/24"] and doc["iec"]["process"] == "lab-labdev"
    assert doc["iec"]["sftp_keys"] == [lab_keys.pub(lab_keys.iec_sftp)]
    assert doc["admins"]["accounts"][0]["name"] == "prepadmin"
    d1 = doc["difusores"]["difusor-1"]
    assert d1["ssh_user"] == "prepadmin" and d1["host_key"].startswith("ssh-ed25519 AAAA")
    assert d1["tls"] == {"mode": "lab-ca"} and d1["ups"]["driver"] == "dummy-ups"
    assert d1["public_url"] == "http://10.81.0.11/"
    p1 = doc["publishers"]["publisher-1"]
    assert p1["sftp_identity"] == str(lab_keys.iec_sftp)
    assert p1["drop_dir"] == "/srv/prep-publisher/entrada"
    lab_inventory.validate(path)  # the project's schema accepts it


def test_ssh_config_matches_names_and_addresses_and_pins_keys(tmp_path):
    text = keys.ssh_config({"difusor-1": "10.81.0.11"}, tmp_path / "id_lab",
                           tmp_path / "known_hosts", tmp_path / "cm")
    assert "Host difusor-1 10.81.0.11\n  HostName 10.81.0.11" in text
    for option in ("User prepadmin", "StrictHostKeyChecking yes", "ControlMaster auto",
                   f"UserKnownHostsFile {tmp_path / 'known_hosts'}", "ControlPersist"):
        assert option in text
    known = keys.known_hosts({"difusor-1": ("10.81.0.11", ["ssh-ed25519 AAAAx"])})
    assert known == "difusor-1,10.81.0.11 ssh-ed25519 AAAAx\n"


def test_host_files():
    hosts = {"difusor-1": "10.81.0.11", "publisher-1": "10.81.0.201"}
    text = rootfs.hosts_file("difusor-1", hosts)
    assert "10.81.0.11\tdifusor-1.lab difusor-1" in text
    assert "10.81.0.201\tpublisher-1.lab publisher-1" in text
    net = rootfs.network_file("10.81.0.11", "10.81.0.0/24", "10.81.0.1")
    assert "Address=10.81.0.11/24" in net and "Gateway=10.81.0.1" in net


def test_mirror_is_read_from_apt_sources():
    deb822 = ("Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm "
              "bookworm-updates\nComponents: main\n\nTypes: deb\n"
              "URIs: http://mirror.example/debian-security\nSuites: bookworm-security\n"
              "Components: main\n")
    m = mirror.parse_sources({"debian.sources": deb822, "other.sources.disabled": "junk"})
    assert m == mirror.Mirror("http://mirror.example/debian",
                              "http://mirror.example/debian-security")
    assert m.sources("trixie") == ["deb http://mirror.example/debian trixie main",
                                   "deb http://mirror.example/debian trixie-updates main",
                                   "deb http://mirror.example/debian-security trixie-security main"]
    one_line = "deb [arch=amd64] http://m.example/debian/ bookworm main\n"
    assert mirror.parse_sources({"x.list": one_line}).debian == "http://m.example/debian"


def test_a_lab_with_a_web_host_names_it_for_the_public_list(tmp_path):
    lab_keys = _keys(tmp_path)
    hosts = [lab_inventory.LabHost("difusor-1", "10.81.0.11", _host_key(tmp_path, "d1")),
             lab_inventory.LabHost("publisher-1", "10.81.0.201", _host_key(tmp_path, "p1")),
             lab_inventory.LabHost("website-1", "10.81.0.251", _host_key(tmp_path, "w1"))]
    data = lab_inventory.build("labdev", "10.81.0.0/24", hosts, lab_keys)
    path = lab_inventory.write(tmp_path / "lab-labdev.yml", "labdev", "10.81.0.0/24", data)
    web = yaml.safe_load(path.read_text())["websites"]["website-1"]
    assert web["public_url"] == "http://10.81.0.251/"
    assert web["server_names"] == ["10.81.0.251", "website-1.lab"]
    assert web["host_key"].startswith("ssh-ed25519 AAAA")
    lab_inventory.validate(path)


def test_the_labs_waivers_are_signed_with_its_iec_key_and_count(tmp_path):
    from prep_iac.conformance.known import known_ids
    from prep_iac.conformance.waivers import load_waivers
    from prep_iac.lab import waivers as lab_waivers

    lab_keys = _keys(tmp_path)
    inventory = tmp_path / "lab-labdev.yml"
    path = lab_waivers.write_signed(inventory, "lab-labdev", lab_keys.iec_signing)
    assert path == tmp_path / "lab-labdev-dispensas.yml"
    assert lab_waivers.signature_path(path).is_file()
    loaded = load_waivers(path, known_ids(), {"difusor-1"},
                          signers=[lab_keys.pub(lab_keys.iec_signing)], process="lab-labdev")
    assert loaded and all(w.valid for w in loaded)
    # Another lab's process: out of scope, none counts.
    other = load_waivers(path, known_ids(), {"difusor-1"},
                         signers=[lab_keys.pub(lab_keys.iec_signing)], process="lab-otro")
    assert not any(w.valid for w in other)


def test_no_lab_test_module_shares_a_unit_test_modules_name():
    """pytest imports both folders' modules by basename (no packages): a shared name stops
    the whole run at collection ("import file mismatch")."""
    tests = Path(__file__).resolve().parents[1]
    unit = {p.name for p in (tests / "unit").glob("test_*.py")}
    lab = {p.name for p in (tests / "lab").glob("test_*.py")}
    assert not unit & lab, f"rename one of each: {sorted(unit & lab)}"


def test_a_copy_of_the_lab_inventory_deploys_with_the_labs_one_ca(tmp_path):
    from prep_iac.lab import ca as lab_ca

    lab_inv, copy = tmp_path / "lab.yml", tmp_path / "copia" / "inventario.yml"
    copy.parent.mkdir()
    lab_ca.share_ca(lab_inv, copy)
    lab_ca.share_ca(lab_inv, copy)  # a second copy made from the same place changes nothing
    assert lab_ca.ca_dir(copy).resolve() == lab_ca.ca_dir(lab_inv).resolve()
    assert (lab_ca.ca_dir(copy) / "ca.pem").read_bytes() == \
        (lab_ca.ca_dir(lab_inv) / "ca.pem").read_bytes()
