"""Security: admins (CONV-IV.1 named admin accounts, sudo logged); being written, see docs/security.md."""

from pyinfra.api import deploy


@deploy("admins.accounts")
def accounts():
    """Placeholder so the deploy files import while the component is written."""
