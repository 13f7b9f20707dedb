"""Security: waf (CONV-II.d.2 nginx request filtering); being written, see docs/security.md."""

from pyinfra.api import deploy


@deploy("waf.filters")
def filters():
    """Placeholder so the deploy files import while the component is written."""
