"""pyinfra deploy: what the continuity tests cut and fail over, and what they stand on.
Difusores: the jail and the activator (the publisher pushes into them), nginx and the
watchdog (what the public sees), keepalived (the HA pair), in deploys/difusor.py's order.
Publishers: the service that pushes every period and keeps the ledger."""

from prep_iac.components import activator, ha, nginx, onhost, publisher, sftp_jail, tls, watchdog
from prep_iac.components.common import config

role = config().role
if role == "difusor":
    sftp_jail.jail()
    code = onhost.programs()
    activator.installed()
    tls.certificates()
    nginx.site()
    watchdog.resident(code)
    ha.keepalived()
elif role == "publisher":
    publisher.service()
