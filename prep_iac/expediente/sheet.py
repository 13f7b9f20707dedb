"""The infrastructure sheet: each item of section II of the call, per server, with what was
read on the server (facts.py) or declared in the inventory, and whether it meets the call.
What does not is listed for the DEIE to assess (the paragraph after II.e), so the sheet is
also that request (CONV-II.f).

The thresholds are the conformance suites' own (test_hardware.py), never re-spelt.
"""

from __future__ import annotations

from dataclasses import dataclass

from prep_iac.conformance.suites.test_hardware import MIN_CORES, MIN_DISK, MIN_RAM, TOLERANCE
from prep_iac.conformance.suites.test_redundancy import REDUNDANT_MD
from prep_iac.expediente.facts import HostFacts

CUMPLE, NO_CUMPLE, NO_VISIBLE, NO_LEIDO = "cumple", "no cumple", "no visible", "no leído"
MIN_LINK_MBPS = 10


@dataclass
class Row:
    requirement: str  # CONV-II.c.1
    item: str  # "Memoria RAM"
    value: str  # what was read or declared
    state: str
    note: str = ""  # why, or the evidence to attach
    mandatory: bool = True
    source: str = "leído"  # "leído" on the host, or "declarado" in the inventory


def _gb(n: float) -> str:
    return f"{n / 1e9:.1f} GB"


def _gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB"


def host_rows(name: str, difusor, facts: HostFacts) -> list[Row]:
    """The sheet of one difusor server."""
    measured = _measured(facts) if facts.read else _not_read(facts)
    return measured + _declared(name, difusor, facts)


def _not_read(facts: HostFacts) -> list[Row]:
    why = "no se pudo leer el servidor (el motivo, arriba)"
    items = [("CONV-II.c.1", "Procesador"), ("CONV-II.c.1", "Memoria RAM"),
             ("CONV-II.c.1", "Disco"), ("CONV-II.c.2", "Disco redundante"),
             ("CONV-II.c.2", "Tarjeta de red redundante"),
             ("CONV-II.c.2", "Fuente de poder redundante"),
             ("CONV-II.c.3", "Sistema operativo"), ("CONV-II.d.1", "Firewall"),
             ("CONV-II.d.2", "Detector de intrusos")]
    return [Row(req, item, "—", NO_LEIDO, why) for req, item in items]


def _container_note(facts: HostFacts, what: str) -> str:
    return (f"un contenedor ({facts.container}) no ve {what}: son del anfitrión; adjunte la "
            "hoja técnica del equipo anfitrión")


def _measured(f: HostFacts) -> list[Row]:
    rows = []
    cores = f.cores or 0
    rows.append(Row("CONV-II.c.1", "Procesador",
                    f"{f.cpu_model or 'modelo no visible'}; {cores} núcleo(s)",
                    CUMPLE if cores >= MIN_CORES else NO_CUMPLE,
                    "" if cores >= MIN_CORES else f"se piden al menos {MIN_CORES} núcleos"))
    usable = min(f.memory_bytes or 0, f.memory_limit_bytes or f.memory_bytes or 0)
    limit = f" (límite del cgroup {_gib(f.memory_limit_bytes)})" if f.memory_limit_bytes else ""
    rows.append(Row("CONV-II.c.1", "Memoria RAM", f"{_gib(f.memory_bytes or 0)}{limit}",
                    CUMPLE if usable >= MIN_RAM * TOLERANCE else NO_CUMPLE,
                    "" if usable >= MIN_RAM * TOLERANCE else "se piden al menos 8 GB"))
    rows += _disk(f)
    rows += [_disk_redundancy(f), _nic_redundancy(f), _power(f)]
    linux = bool(f.kernel and f.kernel.startswith("Linux"))
    rows.append(Row("CONV-II.c.3", "Sistema operativo", f"{f.os or '—'} ({f.kernel or '—'})",
                    CUMPLE if linux else NO_CUMPLE, "" if linux else "se pide Linux"))
    for req, item, unit, what in (("CONV-II.d.1", "Firewall", "nftables",
                                   "filtro de paquetes con límites por dirección"),
                                  ("CONV-II.d.2", "Detector de intrusos", "fail2ban",
                                   "bloqueo de ataques a SSH y web")):
        state = f.services.get(unit, "desconocido")
        active = state == "active"
        rows.append(Row(req, item, f"{unit} ({what}): {state}",
                        CUMPLE if active else NO_CUMPLE,
                        "" if active else f"{unit} no está activo: prep-iac deploy difusor"))
    return rows


def _disk(f: HostFacts) -> list[Row]:
    fs = f.filesystem
    seen = f"{fs['mount']}: {_gb(fs['size'])}" if fs else "no visible"
    disks = ", ".join(f"{d['name']} {_gb(d['size'] or 0)}{' ' + d['model'] if d['model'] else ''}"
                      for d in f.disks)
    value = f"sistema de archivos de la publicación {seen}" + (f"; discos: {disks}"
                                                               if disks else "")
    if f.container:
        return [Row("CONV-II.c.1", "Disco", value, NO_VISIBLE,
                    _container_note(f, "los discos del equipo"))]
    ok = bool(fs) and fs["size"] >= MIN_DISK * TOLERANCE
    return [Row("CONV-II.c.1", "Disco", value, CUMPLE if ok else NO_CUMPLE,
                "" if ok else "se piden al menos 100 GB")]


def _disk_redundancy(f: HostFacts) -> Row:
    item = "Disco redundante"
    if f.container:
        return Row("CONV-II.c.2", item, "—", NO_VISIBLE,
                   _container_note(f, "el RAID de los discos del equipo"))
    redundant = [a for a in f.md if a["level"] in REDUNDANT_MD]
    degraded = [a for a in redundant if "_" in a["members"]]
    arrays = ", ".join(f"{a['name']} {a['level']} [{a['members']}]" for a in redundant)
    if degraded:
        return Row("CONV-II.c.2", item, arrays, NO_CUMPLE, "RAID degradado")
    if redundant or f.lvm_redundant:
        return Row("CONV-II.c.2", item, arrays or ", ".join(f.lvm_redundant), CUMPLE)
    return Row("CONV-II.c.2", item, "sin RAID md ni LVM espejo", NO_CUMPLE,
               "si el RAID es de la controladora o del hipervisor, adjunte su reporte")


def _nic_redundancy(f: HostFacts) -> Row:
    item = "Tarjeta de red redundante"
    links = ", ".join(f"{i['name']} ({i['kind'] or 'física'}, {i['state']})"
                      for i in f.interfaces) or "ninguna"
    good = [b for b, (_, up) in f.bonds.items() if up >= 2]
    bonds = ", ".join(f"{b}: {up} de {n} enlaces arriba" for b, (n, up) in f.bonds.items())
    value = f"interfaces: {links}" + (f"; bonding: {bonds}" if bonds else "")
    if good:
        return Row("CONV-II.c.2", item, value, CUMPLE)
    if f.container:
        return Row("CONV-II.c.2", item, value, NO_VISIBLE,
                   _container_note(f, "las tarjetas de red físicas (sus interfaces son "
                                      "virtuales)"))
    return Row("CONV-II.c.2", item, value, NO_CUMPLE,
               "sin bonding con dos enlaces arriba; si la redundancia es del conmutador o del "
               "hipervisor, adjunte su evidencia")


def _power(f: HostFacts) -> Row:
    item = "Fuente de poder redundante"
    shown = "; ".join(f.power)
    if f.container:
        return Row("CONV-II.c.2", item, shown or "—", NO_VISIBLE,
                   _container_note(f, "las fuentes de poder"))
    ipmi = f.ipmi or "none"
    if ipmi == "none" or ("Presence detected" not in ipmi and "Redundan" not in ipmi):
        why = "ipmitool no está instalado" if ipmi == "none" else f"IPMI: {ipmi}"
        return Row("CONV-II.c.2", item, shown or "no visible", NO_VISIBLE,
                   f"{why}: el sistema no ve las fuentes; adjunte la hoja técnica del servidor "
                   "o una foto de sus dos fuentes conectadas")
    if "Redundancy Lost" in ipmi:
        return Row("CONV-II.c.2", item, ipmi, NO_CUMPLE, "IPMI: redundancia de fuentes perdida")
    present = ipmi.count("Presence detected")
    ok = "Fully Redundant" in ipmi or present >= 2
    return Row("CONV-II.c.2", item, f"IPMI: {present} fuente(s) presentes",
               CUMPLE if ok else NO_CUMPLE, "" if ok else "se piden dos fuentes")


def _declared(name: str, d, f: HostFacts) -> list[Row]:
    rows = []
    ok = d.link_mbps >= MIN_LINK_MBPS
    rows.append(Row("CONV-II.b.1", "Enlace web", f"{d.link_mbps} Mbps simétrico",
                    CUMPLE if ok else NO_CUMPLE,
                    "declarado; adjunte el contrato del enlace" if ok else
                    f"se piden {MIN_LINK_MBPS} Mbps simétricos", source="declarado"))
    limits = d.rate_limits
    rows.append(Row("CONV-II.d.1", "Límites por cliente",
                    f"{limits.requests_per_s} solicitudes/s (ráfaga {limits.burst}), "
                    f"{limits.connections} conexiones, {limits.new_connections_per_s} "
                    "conexiones nuevas/s por dirección", CUMPLE, source="declarado"))
    nut = f.services.get("nut-monitor") if f.read else None
    if d.ups:
        watched = f"; NUT: {nut}" if nut else ""
        ok = nut in (None, "active")
        rows.append(Row("CONV-II.e", "UPS", f"{d.ups.description} ({d.ups.driver}){watched}",
                        CUMPLE if ok else NO_CUMPLE,
                        "" if ok else "nut-monitor no está activo: prep-iac deploy difusor",
                        source="declarado"))
    else:
        rows.append(Row("CONV-II.e", "UPS", "ninguna declarada", NO_CUMPLE,
                        "declare la UPS en el inventario (ups:)", source="declarado"))
    rows.append(Row("CONV-II.e", "Planta de emergencia", "—", NO_VISIBLE,
                    "ninguna máquina la ve: su hoja técnica y la bitácora de su última prueba "
                    "con carga", source="declarado"))
    if d.ha:
        rows.append(Row("CONV-II.a.2", "Alta disponibilidad",
                        f"par con {d.ha.peer}, dirección flotante {d.ha.floating_address}",
                        CUMPLE, mandatory=False, source="declarado"))
    else:
        rows.append(Row("CONV-II.a.2", "Alta disponibilidad", "un solo nodo", NO_CUMPLE,
                        "preferente, no obligatoria", mandatory=False, source="declarado"))
    return rows


def to_assess(rows_by_host: dict[str, list[Row]]) -> list[tuple[str, Row]]:
    """What the DEIE is asked to assess: each mandatory item that does not meet section II."""
    return [(host, r) for host, rows in rows_by_host.items() for r in rows
            if r.mandatory and r.state == NO_CUMPLE]


def to_attach(rows_by_host: dict[str, list[Row]]) -> list[tuple[str, Row]]:
    """What no server could show (or was not read): evidence the difusor attaches."""
    return [(host, r) for host, rows in rows_by_host.items() for r in rows
            if r.state in (NO_VISIBLE, NO_LEIDO)]
