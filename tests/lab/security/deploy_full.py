"""pyinfra deploy: security components plus the web tier they protect (TLS, nginx), in
deploys/difusor.py's order; publishers get their security components."""

from prep_iac.components import admins, firewall, hardening, ids, nginx, ssh, tls, ups, waf
from prep_iac.components.common import config

admins.accounts()
ssh.hardened()
hardening.system()
firewall.nftables()
if config().role == "difusor":
    tls.certificates()
    nginx.site()
    waf.filters()
    ids.fail2ban()
    ups.nut()
