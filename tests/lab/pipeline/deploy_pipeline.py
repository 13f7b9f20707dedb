"""The pipeline's components alone (for its lab tests while the rest of the tree is busy):
the jail, the host programs and the activator on difusores, the service on publishers."""

from prep_iac.components import activator, onhost, publisher, sftp_jail
from prep_iac.components.common import config

role = config().role
if role == "difusor":
    sftp_jail.jail()
    onhost.programs()
    activator.installed()
elif role == "publisher":
    publisher.service()
