"""pyinfra deploy: the security components alone, in the deploy files' order (no web tier)."""

from prep_iac.components import admins, firewall, hardening, ids, ssh, ups
from prep_iac.components.common import config

admins.accounts()
ssh.hardened()
hardening.system()
firewall.nftables()
if config().role == "difusor":
    ids.fail2ban()
    ups.nut()
