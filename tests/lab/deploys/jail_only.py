"""Only the IEC's SFTP jail, storage included (tests/lab/test_jail_filesystem.py)."""

from prep_iac.components import sftp_jail
from prep_iac.components.common import has_role

if has_role("difusor"):
    sftp_jail.jail()
