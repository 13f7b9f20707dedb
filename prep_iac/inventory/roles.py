"""The roles a host can have and the inventory group that lists each, in one table.

The group is both the inventory's YAML key (schema.Inventory's field) and the pyinfra group
the deploys run on (`--limit difusores`); the role names the deploy file (deploys/ROLE.py)
and is what `host.data.prep.role` holds.
"""

DIFUSOR = "difusor"
PUBLISHER = "publisher"
WEBSITE = "website"  # the Institute's web host: serves the public list of difusores

ROLE_GROUPS = {DIFUSOR: "difusores", PUBLISHER: "publishers", WEBSITE: "websites"}  # role -> group
GROUP_ROLES = {group: role for role, group in ROLE_GROUPS.items()}  # group -> role
