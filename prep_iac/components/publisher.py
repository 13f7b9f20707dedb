"""Pipeline component (publisher); see docs/pipeline.md."""

from pyinfra.api import deploy

from prep_iac.components.common import config


@deploy("publisher.service")
def service():
    config()
