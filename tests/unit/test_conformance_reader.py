"""The Institute's read-only account: its keys in the inventory, the exact sudo list (one
definition for the deploy's sudoers and verify's routing), the sshd drop-in and verify's
reader mode."""

from pathlib import Path

import pytest
import yaml

from prep_iac.components import reader as component
from prep_iac.conformance import reader, sshconfig
from prep_iac.conformance.verify import pytest_command
from prep_iac.contract import READER_GROUP, READER_USER, SSH_ALLOW_GROUPS
from prep_iac.errors import PrepError
from prep_iac.inventory import load_inventory

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "inventories" / "example-difusor.yml"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ2GX1QPKTOoXabZwpz1dbkZs3IHybCmurVJbHblq4Wd iec-lector"


def inventory_with(tmp_path, keys):
    data = yaml.safe_load(EXAMPLE.read_text())
    data["iec"]["auditor_keys"] = keys
    path = tmp_path / "inv.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    # Relative paths of the example (keys, certificates) stay where they were.
    for item in EXAMPLE.parent.iterdir():
        if item.name != EXAMPLE.name and not (tmp_path / item.name).exists():
            (tmp_path / item.name).symlink_to(item)
    return path


def test_auditor_keys_are_optional():
    assert load_inventory(EXAMPLE).iec.auditor_keys == []


def test_auditor_keys_load(tmp_path):
    assert load_inventory(inventory_with(tmp_path, [KEY])).iec.auditor_keys == [KEY]


@pytest.mark.parametrize("bad", ["ssh-ed25519 not-base64!", KEY + "\nPermitRootLogin yes",
                                 "ssh-dss AAAA", "no-pty " + KEY])
def test_a_bad_auditor_key_is_refused_naming_the_field(tmp_path, bad):
    with pytest.raises(PrepError) as err:
        load_inventory(inventory_with(tmp_path, [bad]))
    assert "iec.auditor_keys[0]" in str(err.value)


def test_the_account_is_let_in_by_allowgroups():
    assert READER_GROUP in SSH_ALLOW_GROUPS


def test_sudo_list_is_exact_and_reads_no_secret():
    commands = reader.root_commands(load_inventory(EXAMPLE), "difusor-1")
    text = reader.sudoers(commands)
    assert "*" not in text and "ALL=(root) NOPASSWD: PREP_LECTURA" in text
    assert "ALL=(ALL" not in text and "/bin/sh" not in text
    assert "log_allowed, log_denied" in text
    assert "cat -- /etc/ssl/prep/privkey.pem" not in text  # its mode, never its content
    assert "stat -Lc %a /etc/ssl/prep/privkey.pem" in text
    # No program that writes or starts something.
    for word in ("tee", "systemctl", "cp ", "mv ", "rm ", "chmod", "bash", "python", "vi ", "vim"):
        assert f"/{word}" not in text, word
    # sudoers' special characters in arguments are escaped.
    assert "user\\=iec\\,host\\=prep-check\\,addr\\=" in text


def test_route_sends_only_whole_allowed_command_lines_through_sudo():
    allowed = ["sshd -T", "auditctl -l", "cat -- /etc/sudoers.d/prep-admins"]
    assert reader.route("sshd -T", allowed) == "sudo -n sshd -T"
    assert reader.route("auditctl -l | grep -q prep-sshd", allowed) == \
        "sudo -n auditctl -l | grep -q prep-sshd"
    assert reader.route("nginx -T 2>/dev/null", ["nginx -T"]) == "sudo -n nginx -T 2>/dev/null"
    # A longer or different command line stays the reader's own.
    assert reader.route("sshd -T -f /etc/shadow", allowed) == "sshd -T -f /etc/shadow"
    assert reader.route("cat -- /etc/shadow", allowed) == "cat -- /etc/shadow"
    assert reader.route("uname -sr", allowed) == "uname -sr"


def test_dropin_refuses_other_sources_before_letting_keys_in():
    text = component.sshd_dropin(["10.0.0.0/24", "192.0.2.5/32"])
    refuse, allow = text.split(f"Match User {READER_USER}\n")
    assert f"Match User {READER_USER} Address *,!10.0.0.0/24,!192.0.2.5/32" in refuse
    assert "AuthorizedKeysFile none" in refuse and "ForceCommand /usr/sbin/nologin" in refuse
    assert f"AuthorizedKeysFile {component.KEYS_FILE}" in allow
    assert "PermitTTY no" in allow and "AllowTcpForwarding no" in allow


def test_keys_file_restricts_every_key():
    assert component.authorized_keys([KEY]) == f"restrict {KEY}\n"


def test_reader_mode_runs_without_sudo_and_with_the_router():
    cmd = pytest_command(Path("/s"), "10.0.0.1", Path("/c"), Path("/i.yml"), Path("/r.json"),
                         "difusor-1", Path("/p.ini"), reader=True)
    assert "--sudo" not in cmd and "prep_iac.conformance.reader_plugin" in cmd


def test_reader_ssh_config_enters_as_the_account_with_the_given_key(tmp_path):
    inventory = load_inventory(EXAMPLE)
    text = sshconfig.render(inventory, None, tmp_path / "cm", as_reader="/k/iec")
    assert f"User {READER_USER}" in text and "IdentityFile /k/iec" in text
    assert "User prepadmin" not in text
