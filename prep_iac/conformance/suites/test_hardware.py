"""CONV-II.c.1: disk 100 GB, RAM 8 GB, 2 cores — measured on the host, never assumed.

Sizes allow 5 % for what the firmware and the filesystem keep for themselves: a 100 GB disk
formats to ~98 GB and 8 GiB of RAM shows as ~7.7 GiB in /proc/meminfo.
"""

import pytest

from prep_iac.contract import PREP_ROOT

MIN_DISK = 100e9
MIN_RAM = 8 * 2**30
MIN_CORES = 2
TOLERANCE = 0.95


def _gb(n: float) -> str:
    return f"{n / 1e9:.1f} GB"


@pytest.mark.conv("CONV-II.c.1", id="hardware::disco")
def test_disco(host, difusor):
    """Disco de al menos 100 GB en el sistema de archivos de la publicación"""
    # PREP_ROOT may not exist before the first deploy: measure its nearest existing parent.
    out = host.check_output(
        f'p={PREP_ROOT}; while [ ! -e "$p" ]; do p=$(dirname "$p"); done; '
        'df -P -B1 "$p" | tail -n 1')
    fields = out.split()
    size, mount = int(fields[1]), fields[-1]
    assert size >= MIN_DISK * TOLERANCE, (
        f"el sistema de archivos de {PREP_ROOT} ({mount}) mide {_gb(size)}, menos de "
        f"{_gb(MIN_DISK)}")


@pytest.mark.conv("CONV-II.c.1", id="hardware::memoria")
def test_memoria(host, difusor):
    """Memoria RAM de al menos 8 GB"""
    total = int(host.check_output("awk '/^MemTotal:/ {print $2}' /proc/meminfo")) * 1024
    # A container may be held below what /proc/meminfo shows by its cgroup.
    limit_text = host.check_output(
        "cat /sys/fs/cgroup/memory.max 2>/dev/null || "
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || echo max")
    limit = int(limit_text) if limit_text.strip().isdigit() else None
    usable = min(total, limit) if limit else total
    where = f" (límite del cgroup {_gb(limit)})" if limit and limit < total else ""
    assert usable >= MIN_RAM * TOLERANCE, (
        f"memoria utilizable {usable / 2**30:.1f} GiB{where}, menos de 8 GiB")


@pytest.mark.conv("CONV-II.c.1", id="hardware::nucleos")
def test_nucleos(host, difusor):
    """Al menos 2 núcleos de procesador"""
    cores = int(host.check_output("nproc"))
    assert cores >= MIN_CORES, f"{cores} núcleo(s) disponibles, se piden al menos {MIN_CORES}"
