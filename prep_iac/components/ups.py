"""Security: ups (CONV-II.e NUT UPS monitoring); being written, see docs/security.md."""

from pyinfra.api import deploy


@deploy("ups.nut")
def nut():
    """Placeholder so the deploy files import while the component is written."""
