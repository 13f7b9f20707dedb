"""verify's second try when ssh attached to a master that was going away (sshretry.py):
testinfra's real SSH backend, with what ssh printed and returned given by run_local."""

import pytest
from testinfra.backend.base import CommandResult
from testinfra.backend.ssh import SshBackend

from prep_iac.conformance import sshretry

LOST = b"mux_client_request_alive: write packet: Broken pipe\r\n"


def backend(answers):
    """An SshBackend whose ssh runs return `answers` in turn (rc, stderr); records the calls."""
    sshretry.install()
    b = SshBackend("ssh://192.0.2.10")
    b.calls = []

    def run_local(command, *args):
        b.calls.append(command)
        rc, err = answers[len(b.calls) - 1]
        return CommandResult(b, rc, command.encode(), b"ok\n" if rc == 0 else b"", err)

    b.run_local = run_local
    return b


def test_a_lost_master_is_tried_once_more():
    b = backend([(255, LOST), (0, b"")])
    assert b.run("stat -Lc %a /etc/ssl/prep/privkey.pem").stdout == "ok\n"
    assert len(b.calls) == 2


def test_a_second_lost_master_is_the_error():
    b = backend([(255, LOST), (255, LOST)])
    with pytest.raises(RuntimeError, match="mux_client"):
        b.run("true")
    assert len(b.calls) == 2


@pytest.mark.parametrize("rc, err", [
    (255, b"ssh: connect to host 192.0.2.10 port 22: Connection refused\r\n"),
    (255, b"Host key verification failed.\r\n"),
])
def test_other_ssh_failures_are_not_retried(rc, err):
    b = backend([(rc, err), (0, b"")])
    with pytest.raises(RuntimeError):
        b.run("true")
    assert len(b.calls) == 1


def test_a_command_that_ran_is_never_run_again():
    # The remote command's own failure (any rc but 255) is its answer, even with that text.
    b = backend([(1, LOST), (0, b"")])
    assert b.run("false").rc == 1
    assert len(b.calls) == 1


def test_install_twice_wraps_once():
    sshretry.install()
    first = SshBackend.run_ssh
    sshretry.install()
    assert SshBackend.run_ssh is first
