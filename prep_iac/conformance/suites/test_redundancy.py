"""CONV-II.c.2: redundant disk, network card and power supply, as far as the host can see.

Disk: md RAID (/proc/mdstat), ZFS mirror/raidz, LVM raid/mirror. Network: a bond with two or
more links up (/proc/net/bonding). Power: two or more supplies through IPMI (`ipmitool`).
Nothing redundant seen is "no cumple", with the evidence that would let the Institute accept
it anyway (a hardware RAID controller or a hypervisor hides its redundancy from the OS): the
difusor then records that evidence in a waiver. No IPMI at all is "manual".
"""

import re

import pytest

from prep_iac.conformance.suites.checks import manual

REDUNDANT_MD = {"raid1", "raid4", "raid5", "raid6", "raid10"}
REDUNDANT_LVM = ("raid1", "raid4", "raid5", "raid6", "raid10", "mirror")


def md_arrays(mdstat: str) -> list[tuple[str, str, str]]:
    """[(name, level, member map like "[UU]")] from /proc/mdstat."""
    arrays, current = [], None
    for line in mdstat.splitlines():
        m = re.match(r"^(md\S+)\s*:\s*active\s+(?:\(\S+\)\s+)?(raid\d+|linear|multipath)", line)
        if m:
            current = [m.group(1), m.group(2), ""]
            arrays.append(current)
            continue
        m = re.search(r"\[([U_]+)\]\s*$", line)
        if current is not None and m:
            current[2] = m.group(1)
    return [tuple(a) for a in arrays]


def bond_links(text: str) -> tuple[int, int]:
    """(links, links up) of one /proc/net/bonding/<bond> file."""
    links = up = 0
    for block in text.split("Slave Interface:")[1:]:
        links += 1
        m = re.search(r"MII Status:\s*(\S+)", block)
        if m and m.group(1) == "up":
            up += 1
    return links, up


@pytest.mark.conv("CONV-II.c.2", id="redundancy::disco_redundante")
def test_disco_redundante(host, difusor):
    """Disco redundante (RAID md, espejo ZFS o LVM)"""
    mdstat = host.run("cat /proc/mdstat 2>/dev/null").stdout
    md = [a for a in md_arrays(mdstat) if a[1] in REDUNDANT_MD]
    degraded = [a for a in md if "_" in a[2]]
    assert not degraded, "RAID degradado: " + ", ".join(f"{n} ({lv} {m})" for n, lv, m in degraded)
    if md:
        return
    zfs = host.run("command -v zpool >/dev/null && zpool status 2>/dev/null").stdout
    if re.search(r"^\s+(mirror|raidz\d?)-\d+", zfs, re.MULTILINE):
        assert not re.search(r"state:\s*(DEGRADED|FAULTED)", zfs), "pool ZFS degradado"
        return
    lvs = host.run("command -v lvs >/dev/null && lvs --noheadings -o lv_name,segtype "
                   "2>/dev/null").stdout
    if any(seg.startswith(REDUNDANT_LVM) for seg in lvs.split()[1::2]):
        return
    disks = host.run("lsblk -dno NAME,TYPE,SIZE 2>/dev/null || true").stdout.strip()
    pytest.fail("no se detecta disco redundante: sin RAID en /proc/mdstat, sin espejo ZFS ni "
                f"LVM (discos: {' '.join(disks.split()) or 'ninguno visible'}). Si el RAID es "
                "de controladora o del hipervisor, registre una dispensa con su reporte")


@pytest.mark.conv("CONV-II.c.2", id="redundancy::red_redundante")
def test_red_redundante(host, difusor):
    """Tarjeta de red redundante (bond con dos o más enlaces activos)"""
    bonds = host.run("for f in /proc/net/bonding/*; do [ -f \"$f\" ] && "
                     "{ echo \"== $f\"; cat \"$f\"; }; done; true").stdout
    found = {}
    for part in bonds.split("== ")[1:]:
        name, _, body = part.partition("\n")
        found[name.rsplit("/", 1)[-1]] = bond_links(body)
    good = [b for b, (_, up) in found.items() if up >= 2]
    if good:
        return
    if found:
        pytest.fail("bond sin dos enlaces activos: " + ", ".join(
            f"{b} ({up} de {links} arriba)" for b, (links, up) in found.items()))
    links = host.run("ip -br link 2>/dev/null | grep -v '^lo ' || true").stdout.strip()
    pytest.fail("no hay interfaz agregada (bonding) en /proc/net/bonding; interfaces: "
                f"{'; '.join(links.splitlines()) or 'ninguna'}. Si la redundancia es del "
                "conmutador o del hipervisor, registre una dispensa con su evidencia")


@pytest.mark.conv("CONV-II.c.2", id="redundancy::fuente_redundante")
def test_fuente_redundante(host, difusor):
    """Fuente de poder redundante (IPMI)"""
    if not host.exists("ipmitool"):
        manual("ipmitool no está instalado: la hoja técnica del servidor o una foto de sus "
               "dos fuentes conectadas, o instale ipmitool si el equipo tiene BMC")
    sdr = host.run("ipmitool sdr type 'Power Supply' 2>&1")
    if sdr.rc != 0:
        manual(f"ipmitool no alcanza un BMC ({sdr.stdout.strip()[:120]}): la hoja técnica "
               "del servidor o una foto de sus dos fuentes conectadas")
    assert "Redundancy Lost" not in sdr.stdout, "IPMI: redundancia de fuentes perdida"
    if "Fully Redundant" in sdr.stdout:  # the BMC's own redundancy sensor says it all
        return
    supplies = [line for line in sdr.stdout.splitlines() if "Presence detected" in line]
    assert len(supplies) >= 2, f"IPMI muestra {len(supplies)} fuente(s) de poder presentes"
