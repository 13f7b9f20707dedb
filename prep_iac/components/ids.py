"""Security: ids (CONV-II.d.2 fail2ban); being written, see docs/security.md."""

from pyinfra.api import deploy


@deploy("ids.fail2ban")
def fail2ban():
    """Placeholder so the deploy files import while the component is written."""
