"""Difusor web tier: nginx (being written; see docs/web.md)."""

from pyinfra.api import deploy


@deploy("nginx.site")
def site():
    """Placeholder so deploys/difusor.py imports while the component is written."""
