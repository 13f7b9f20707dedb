"""What the inventory declares and the host cannot measure by itself.

CONV-II.b.1: the link's capacity (the outside audit measures a lower bound).
CONV-I.1: the calendar's publication: the PREP opens at 18:00 or later (after the polls
close) and its results stay up at least until 23:59 of the ninth day after (6 June 18:00 ->
15 June 23:59 in 2021). An accelerated calendar (labs, drills) fails it: waive it there.
"""

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
