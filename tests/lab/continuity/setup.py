"""The continuity tests' lab: the lab's inventory with a short period, its PREP open, its
first two difusores as an HA pair (the drill's inventory, prep_iac/simulacro/setup.py) and
no other difusor; a cut in the publisher's drop folder, which its service then pushes (and
renews) every period."""

from __future__ import annotations

import datetime as dt
import shlex
import subprocess
from pathlib import Path

from prep_iac.inventory import load_inventory
from prep_iac.lab import ca as lab_ca
from prep_iac.simulacro.setup import drill_inventory, set_calendar, write_inventory

PUBLISHER_UNITS = "prep-publisher.timer prep-publisher.path"


def continuity_inventory(lab, out: Path, period_s: int) -> Path:
    path = drill_inventory(lab.inventory_path, out, period_s, ha=True)
    inv = load_inventory(path)
    pair = {n: d for n, d in inv.difusores.items() if d.ha}
    write_inventory(path, inv.with_changes(difusores=pair),
                    "# tests/lab/test_continuity.py: the lab's inventory, an HA pair, "
                    f"{period_s} s periods")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    set_calendar(path, now - dt.timedelta(hours=1), now + dt.timedelta(hours=23),
                 now + dt.timedelta(days=2))
    lab_ca.share_ca(lab.inventory_path, path)
    return path


def drop_cut(lab, publisher, folder: Path) -> None:
    """Into the publisher's drop folder as the IEC does: copied under a dot name, renamed."""
    drop, name = publisher.drop_dir, folder.name
    subprocess.run(["scp", "-q", "-r", "-F", str(lab.ssh_config_path), str(folder),
                    "publisher-1:/tmp/"], check=True, timeout=120)
    quoted = shlex.quote
    script = (f"sudo rm -rf {quoted(f'{drop}/.{name}')} && "
              f"sudo cp -r {quoted(f'/tmp/{name}')} {quoted(f'{drop}/.{name}')} && "
              f"sudo chown -R prep-publisher: {quoted(f'{drop}/.{name}')} && "
              f"sudo mv -T {quoted(f'{drop}/.{name}')} {quoted(f'{drop}/{name}')}")
    proc = lab.run("publisher-1", script)
    assert proc.returncode == 0, proc.stderr
