"""Where the lab keeps things on the controller (all root-owned, outside the checkout)."""

from pathlib import Path

CACHE_DIR = Path("/var/cache/prep-iac")  # base tarballs: slow to build, cheap to keep
BASE_ROOT = Path("/var/lib/prep-iac/base")  # extracted bases: the overlays' lower layers
LABS_ROOT = Path("/var/lib/prep-iac/labs")  # one directory per lab: hosts, keys, state
APT_DIR = Path("/var/lib/prep-iac/apt-cacher-ng")  # the shared apt proxy's config and pid
CGROUP_ROOT = Path("/sys/fs/cgroup")
RELEASES = ("bookworm", "trixie")


def lab_dir(name: str) -> Path:
    return LABS_ROOT / name
