"""pyinfra deploy: only the web tier's components, in deploys/difusor.py's order."""

from prep_iac.components import ha, logs, nginx, onhost, tls, watchdog
from prep_iac.components.common import has_role

if has_role("difusor"):
    code = onhost.programs()
    tls.certificates()
    nginx.site()
    watchdog.resident(code)
    logs.rotation()
    ha.keepalived()
    tls.acme_request()
