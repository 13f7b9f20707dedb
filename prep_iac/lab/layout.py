"""Where the lab keeps things on the controller (all root-owned, outside the checkout)."""

import os
from pathlib import Path

# Overridable so a benchmark can time a cold cache without touching the bases running labs
# are mounted on.
CACHE_DIR = Path(os.environ.get("PREP_LAB_CACHE_DIR", "/var/cache/prep-iac"))  # tarballs
BASE_ROOT = Path(os.environ.get("PREP_LAB_BASE_ROOT", "/var/lib/prep-iac/base"))  # extracted
LABS_ROOT = Path("/var/lib/prep-iac/labs")  # one directory per lab: hosts, keys, state
APT_DIR = Path("/var/lib/prep-iac/apt-cacher-ng")  # the shared apt proxy's config and pid
CGROUP_ROOT = Path("/sys/fs/cgroup")
RELEASES = ("bookworm", "trixie")


def lab_dir(name: str) -> Path:
    return LABS_ROOT / name
