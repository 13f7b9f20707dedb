"""What the public list needs alone: the cut pipeline (jail, host programs, activator) on
difusores, the service on publishers, the list's account and site on the web host."""

from prep_iac.components import activator, onhost, publisher, sftp_jail, website
from prep_iac.components.common import config

role = config().role
if role == "difusor":
    sftp_jail.jail()
    onhost.programs()
    activator.installed()
elif role == "publisher":
    publisher.service()
elif role == "website":
    website.list_site()
