"""The roles a host can have and the inventory group that lists each, in one table.

The group is both the inventory's YAML key (schema.Inventory's field) and the pyinfra group
the deploys run on (`--limit difusores`); the role names the deploy file (deploys/ROLE.py)
and is what `host.data.prep.role` holds.
"""

DIFUSOR = "difusor"
PUBLISHER = "publisher"

ROLE_GROUPS = {DIFUSOR: "difusores", PUBLISHER: "publishers"}  # role -> group
GROUP_ROLES = {group: role for role, group in ROLE_GROUPS.items()}  # group -> role
