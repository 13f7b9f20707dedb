"""The Institute's web host: the public list of difusores the publishers push there.

    prep-iac deploy website -i inventories/example-iec.yml
    pyinfra inventories/example-iec.py deploys/website.py

The Institute's own server: only the list's SFTP account and nginx site, nothing else.
"""

from prep_iac.components import website
from prep_iac.components.common import has_role

if has_role("website"):
    website.list_site()     # CONV-I.7/III.2 the list's chrooted SFTP account and nginx site
