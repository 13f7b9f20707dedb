# pyinfra inventory shim: reads the YAML inventory of the same name (env.py: $PREP_INVENTORY).
from prep_iac.inventory.shim import groups_for

globals().update(groups_for(__file__))
