"""Security: ssh (CONV-IV.1 sshd drop-in); being written, see docs/security.md."""

from pyinfra.api import deploy


@deploy("ssh.hardened")
def hardened():
    """Placeholder so the deploy files import while the component is written."""
