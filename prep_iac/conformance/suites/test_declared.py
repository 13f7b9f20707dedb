"""What the inventory declares and the host cannot measure by itself.

CONV-II.b.1: the link's capacity (the outside audit measures a lower bound).
CONV-I.1: the publication window: opens at 18:00 or later (after the polls close) and stays
open at least until 23:59 of the ninth day after (6 June 18:00 -> 15 June 23:59 in 2021).
"""

import datetime as dt

import pytest

MIN_LINK_MBPS = 10
EARLIEST_OPENING = dt.time(18, 0)
MIN_DAYS_OPEN = 9


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
    window = difusor.iec.window
    evidencia(f"inventario {difusor.inventory_path}: iec.window",
              f"opens {window.opens}, closes {window.closes} ({window.timezone})")
    opens, closes = window.opens_at, window.closes_at
    assert opens.time() >= EARLIEST_OPENING, (
        f"la ventana abre {window.opens}, antes de las 18:00 (cierre de casillas)")
    last = dt.datetime.combine(opens.date() + dt.timedelta(days=MIN_DAYS_OPEN),
                               dt.time(23, 59), opens.tzinfo)
    assert closes >= last, (
        f"la ventana cierra {window.closes}, antes de {last:%Y-%m-%d %H:%M} (nueve días "
        "después de abrir)")
