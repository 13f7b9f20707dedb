"""Difusor web tier: watchdog (being written; see docs/web.md)."""

from pyinfra.api import deploy


@deploy("watchdog.timer")
def timer():
    """Placeholder so deploys/difusor.py imports while the component is written."""
