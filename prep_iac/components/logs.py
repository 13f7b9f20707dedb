"""Difusor web tier: logs (being written; see docs/web.md)."""

from pyinfra.api import deploy


@deploy("logs.rotation")
def rotation():
    """Placeholder so deploys/difusor.py imports while the component is written."""
