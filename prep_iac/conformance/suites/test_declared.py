"""What the inventory declares and the host cannot measure by itself.

CONV-II.b.1: the link's capacity (the outside audit measures a lower bound).
CONV-II.e: the emergency power plant, shown by the document the inventory names.
CONV-V: the technical staff of each stage (participation.contacts).
CONV-I.1: the calendar's publication: the PREP opens at 18:00 or later (after the polls
close) and its results stay up at least until 23:59 of the ninth day after (6 June 18:00 ->
15 June 23:59 in 2021). An accelerated calendar (labs, drills) fails it: waive it there.
"""

import datetime as dt
import hashlib
from pathlib import Path

import pytest

from prep_iac.inventory.schema import EARLIEST_OPENING, publication_minimum

MIN_LINK_MBPS = 10


@pytest.mark.conv("CONV-II.b.1", id="declared::enlace_declarado")
def test_enlace_declarado(difusor, evidencia):
    """Enlace declarado de al menos 10 Mbps simétricos"""
    mbps = difusor.host.link_mbps
    evidencia(f"inventario {difusor.inventory_path}: difusores.{difusor.name}.link_mbps", mbps)
    assert mbps >= MIN_LINK_MBPS, (
        f"el inventario declara {mbps} Mbps para {difusor.name} (link_mbps), menos de "
        f"{MIN_LINK_MBPS}")


@pytest.mark.conv("CONV-I.1", id="declared::ventana_publicacion")
def test_ventana_publicacion(difusor, evidencia):
    """Ventana de publicación: abre a las 18:00 o después y dura hasta las 23:59 del noveno día"""
    cal = difusor.iec.calendar
    evidencia(f"inventario {difusor.inventory_path}: iec.calendar",
              f"prep_opens {cal.prep_opens}, publication_ends {cal.publication_ends} "
              f"({cal.timezone}){', accelerated' if cal.accelerated else ''}")
    assert cal.prep_opens_at.time() >= EARLIEST_OPENING, (
        f"el PREP abre {cal.prep_opens}, antes de las 18:00 (cierre de casillas)")
    last = publication_minimum(cal.prep_opens_at)
    assert cal.publication_ends_at >= last, (
        f"la publicación termina {cal.publication_ends}, antes de {last:%Y-%m-%d %H:%M} "
        "(nueve días después de abrir)")


@pytest.mark.conv("CONV-II.e", id="declared::planta_emergencia")
def test_planta_emergencia(difusor, evidencia):
    """Planta de emergencia declarada, con el documento que la muestra"""
    power = difusor.host.emergency_power  # required by the inventory schema
    where = f"inventario {difusor.inventory_path}: difusores.{difusor.name}.emergency_power"
    evidencia(where, f"{power.plant}; última prueba con carga {power.tested_on}")
    document = Path(power.evidence)
    assert document.is_file(), (
        f"el documento de la planta {power.evidence} no existe en la máquina que verifica: "
        "adjunte la hoja técnica y la bitácora de su última prueba con carga")
    data = document.read_bytes()
    assert data.strip(), f"el documento de la planta {power.evidence} está vacío"
    evidencia(f"sha256 {power.evidence}", hashlib.sha256(data).hexdigest())
    assert power.tested_on <= dt.date.today(), (
        f"la última prueba con carga de la planta ({power.tested_on}) es una fecha futura")


STAGES = (("installation", "instalación y pruebas"), ("drills", "ejercicios y simulacros"),
          ("operation", "operación"))


@pytest.mark.conv("CONV-V", id="declared::contactos")
def test_contactos(difusor, evidencia):
    """Personal técnico de cada etapa: nombre, cargo, teléfono y horario"""
    part = difusor.inventory.participation
    assert part is not None, (
        f"el inventario {difusor.inventory_path} no tiene el bloque participation: la base V "
        "pide nombre, cargo, teléfono y horario del personal técnico de cada etapa")
    for stage, label in STAGES:
        people = getattr(part.contacts, stage)  # the schema refuses an empty stage
        evidencia(f"inventario: participation.contacts.{stage} ({label})",
                  "; ".join(f"{c.name} ({c.role}), {c.phone}, {c.hours}" for c in people))
