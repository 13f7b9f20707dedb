"""Pipeline component (activator); see docs/pipeline.md."""

from pyinfra.api import deploy

from prep_iac.components.common import config


@deploy("activator.installed")
def installed():
    config()
