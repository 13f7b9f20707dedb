"""One more try for a command whose shared SSH connection was closing as it attached.

verify's ssh_config shares one connection per host (ControlMaster, sshconfig.py). When that
master exits (its idle time, ControlPersist, is up; or its server went unanswered under
load) just as a command attaches to it, ssh exits 255 with `mux_client_…: Broken pipe`
before the command ran. The master's socket goes with it, so a second try connects anew.
Seen in a drill's closing verify on 10 lab difusores under load (two checks, 2026-12-04).
"""

from __future__ import annotations

LOST_MASTER = "mux_client_"


def lost_master(result) -> bool:
    """ssh failed attaching to a master that was going away: the command never ran."""
    return getattr(result, "rc", None) == 255 and \
        (getattr(result, "stderr", "") or "").lstrip().startswith(LOST_MASTER)


def install() -> None:
    """Give testinfra's SSH backend the second try (once per process)."""
    from testinfra.backend.ssh import SshBackend

    original = SshBackend.run_ssh
    if getattr(original, "prep_retries_lost_master", False):
        return

    def run_ssh(self, command):
        try:
            return original(self, command)
        except RuntimeError as exc:  # testinfra raises on 255, the CommandResult as its arg
            if not (exc.args and lost_master(exc.args[0])):
                raise
        return original(self, command)

    run_ssh.prep_retries_lost_master = True
    SshBackend.run_ssh = run_ssh
