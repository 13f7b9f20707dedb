"""Difusor web tier: ha (being written; see docs/web.md)."""

from pyinfra.api import deploy


@deploy("ha.keepalived")
def keepalived():
    """Placeholder so deploys/difusor.py imports while the component is written."""
