"""Pipeline component (sftp_jail); see docs/pipeline.md."""

from pyinfra.api import deploy

from prep_iac.components.common import config


@deploy("sftp_jail.jail")
def jail():
    config()
