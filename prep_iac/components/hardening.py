"""Security: hardening (CONV-II.c.3 OS hardening); being written, see docs/security.md."""

from pyinfra.api import deploy


@deploy("hardening.system")
def system():
    """Placeholder so the deploy files import while the component is written."""
