"""Let plain `pyinfra` read a YAML inventory. An ``inventories/NAME.py`` shim holds:

    from prep_iac.inventory.shim import groups_for
    globals().update(groups_for(__file__))

and reads ``NAME.yml`` beside it; ``inventories/env.py`` reads the file named by
``$PREP_INVENTORY`` (what `prep-iac deploy -i FILE` uses).
"""

import os
from pathlib import Path

from prep_iac import pyinfra_nodelay
from prep_iac.errors import PrepError
from prep_iac.inventory.loader import load_inventory
from prep_iac.inventory.to_pyinfra import pyinfra_groups


def groups_for(shim_file: str) -> dict:
    pyinfra_nodelay.install()  # this runs inside pyinfra: its SSH connections, Nagle off
    shim = Path(shim_file).resolve()
    if shim.stem == "env":
        name = os.environ.get("PREP_INVENTORY")
        if not name:
            raise PrepError("inventories/env.py reads the inventory named by $PREP_INVENTORY, "
                            "which is not set", "PREP_INVENTORY=path/to/inventory.yml pyinfra "
                            "inventories/env.py deploys/difusor.py")
        yml = Path(name).resolve()
    else:
        yml = shim.with_suffix(".yml")
    return pyinfra_groups(load_inventory(yml), yml)
