"""An Institute publisher: pushes every cut to every difusor, verified, and tracks failures.

    prep-iac deploy publisher -i inventories/example-iec.yml
    pyinfra inventories/example-iec.py deploys/publisher.py
"""

from prep_iac.components import admins, firewall, hardening, publisher, ssh
from prep_iac.components.common import has_role

if has_role("publisher"):
    admins.accounts()       # CONV-IV.1   named admins with keys, sudo logged
    ssh.hardened()          # CONV-IV.1   sshd drop-in, validated, never locks the admin out
    hardening.system()      # CONV-II.c.3 sysctls, upgrades, time, journal, audit
    firewall.nftables()     # CONV-II.d.1 inbound SSH from admins, outbound SSH to difusores
    publisher.service()     # CONV-III.1/III.2 push every period, ledger, public list
