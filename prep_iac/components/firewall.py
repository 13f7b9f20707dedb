"""Security: firewall (CONV-II.d.1 nftables); being written, see docs/security.md."""

from pyinfra.api import deploy


@deploy("firewall.nftables")
def nftables():
    """Placeholder so the deploy files import while the component is written."""
