"""A PREP difusor: serves the Institute's latest cut, verified, safely, all night.

    prep-iac deploy difusor -i inventories/example-difusor.yml
    pyinfra inventories/example-difusor.py deploys/difusor.py

Each line is one component (prep_iac/components/), in the order a server needs them;
the requirement it serves is in the comment (ids of docs/requisitos.md).
"""

from prep_iac.components import (
    activator,
    admins,
    firewall,
    ha,
    hardening,
    ids,
    logs,
    nginx,
    onhost,
    reader,
    sftp_jail,
    ssh,
    tls,
    ups,
    waf,
    watchdog,
)
from prep_iac.components.common import has_role

if has_role("difusor"):
    admins.accounts()       # CONV-IV.1   named admins with keys, sudo logged
    ssh.hardened()          # CONV-IV.1   sshd drop-in, validated, never locks the admin out
    hardening.system()      # CONV-II.c.3 sysctls, upgrades, time, journal, audit
    firewall.nftables()     # CONV-II.d.1 default drop, SSH from admins/IEC, DoS limits
    sftp_jail.jail()        # CONV-II.a.1 chrooted SFTP-only account for the IEC
    reader.account()        # CONV-IV     the IEC's read-only account for its own verify
    code = onhost.programs()  # CONV-I.3/I.9 the activator's and watchdog's code, one contract
    activator.installed()   # CONV-I.3/I.9 verify signed cuts, switch `current` atomically
    tls.certificates()      # TLS for the public site
    nginx.site()            # CONV-I.1/I.2/I.6/I.10 the PREP, the portal page, the cut time
    waf.filters()           # CONV-II.d.2 cheap request filtering in nginx
    ids.fail2ban()          # CONV-II.d.2 bans in nftables from sshd and nginx logs
    watchdog.resident(code)  # CONV-III.2  notice page after 3 periods without a cut
    logs.rotation()         # CONV-VI     access logs kept for the memoria
    ups.nut()               # CONV-II.e   UPS monitoring and clean shutdown
    ha.keepalived()         # CONV-II.a.2 floating address for an HA pair
    tls.acme_request()      # tls mode acme: the certificate, last (a failure stops no other part)
