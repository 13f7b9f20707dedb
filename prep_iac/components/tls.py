"""Difusor web tier: tls (being written; see docs/web.md)."""

from pyinfra.api import deploy


@deploy("tls.certificates")
def certificates():
    """Placeholder so deploys/difusor.py imports while the component is written."""
