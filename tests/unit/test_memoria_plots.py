"""The report's figures, SVG written by plots.py: well-formed, escaped, drawn from the series
they show, with axes at round values and round local hours."""

import base64
import re
import xml.etree.ElementTree as ET
from datetime import datetime
from zoneinfo import ZoneInfo

from prep_iac.memoria import plots

MTY = ZoneInfo("America/Monterrey")
SVG = "{http://www.w3.org/2000/svg}"
START = int(datetime(2021, 6, 6, 18, 0, tzinfo=MTY).timestamp())


def _rows(step: int, n: int, **fields) -> list[dict]:
    return [{"start": datetime.fromtimestamp(START + i * step, MTY).isoformat(),
             **{k: v(i) for k, v in fields.items()}} for i in range(n)]


def _texts(svg: str) -> list[str]:
    return [t.text for t in ET.fromstring(svg).iter(f"{SVG}text")]


def test_nice_ticks():
    assert plots.nice_ticks(0) == [0, 1]
    assert plots.nice_ticks(9) == [0, 2, 4, 6, 8, 10]
    assert plots.nice_ticks(11_748) == [0, 2500, 5000, 7500, 10_000, 12_500]
    assert plots.nice_ticks(100) == [0, 20, 40, 60, 80, 100]


def test_time_ticks_are_round_local_hours():
    end = START + 26 * 3600
    ticks = plots.time_ticks(START, end, MTY)
    labels = [datetime.fromtimestamp(t, MTY).strftime("%d %H:%M") for t in ticks]
    assert labels == ["06 18:00", "06 21:00", "07 00:00", "07 03:00", "07 06:00", "07 09:00",
                      "07 12:00", "07 15:00", "07 18:00"]
    # A zone half an hour off UTC: still its own round hours.
    kolkata = ZoneInfo("Asia/Kolkata")
    for t in plots.time_ticks(START, START + 6 * 3600, kolkata):
        assert datetime.fromtimestamp(t, kolkata).minute == 0


def test_traffic_draws_the_series_cuts_and_notices():
    rows = _rows(600, 12, hits=lambda i: 100 * i, pages=lambda i: 50 * i, estado=lambda i: i)
    svg = plots.traffic({"per_10min": rows}, [START + 1800], [(START + 600, START + 1200)], MTY)
    root = ET.fromstring(svg)
    lines = root.findall(f"{SVG}polyline")
    assert len(lines) == 3 and all(len(p.get("points").split()) == 12 for p in lines)
    # The hits line: its first point at the bottom of the plot, its last the highest.
    ys = [float(p.split(",")[1]) for p in lines[0].get("points").split()]
    assert ys == sorted(ys, reverse=True)
    texts = _texts(svg)
    assert "Tráfico durante la operación del PREP" in texts
    assert {"hits / 10 min", "corte publicado", "aviso de interrupción"} <= set(texts)
    assert "1 250" in texts and "1 500" not in texts  # the top: round, just above 1,100


def test_status_stacks_the_classes():
    rows = _rows(3600, 3, s2xx=lambda i: 10, s3xx=lambda i: 5, s4xx=lambda i: 0,
                 s5xx=lambda i: 1, s429=lambda i: 0, s403=lambda i: 0)
    svg = plots.status({"per_hour": rows}, MTY)
    bars = [r for r in ET.fromstring(svg).iter(f"{SVG}rect") if r.get("fill") in
            plots.STATUS_COLORS.values() and float(r.get("height")) > 10]
    assert len(bars) == 3 * 3  # three hours of 2xx, 3xx, 5xx (no 4xx: no empty bars)


def test_labels_from_the_data_are_escaped():
    label = 'corte <script>alert(1)</script> & "x"'
    incident = {"label": label, "start": datetime.fromtimestamp(START + 60, MTY).isoformat(),
                "end": None, "affects_publication": True}
    svg = plots.timeline([incident], START, START + 7200, MTY)
    assert "<script>" not in svg
    assert label in _texts(svg)  # well-formed, and the text reads as it was
    url = plots.data_url(svg)
    assert url.startswith("data:image/svg+xml;base64,")
    assert base64.b64decode(url.split(",", 1)[1]).decode() == svg


def test_against_baseline_is_log_scale_when_it_can_be():
    comparison = {"rows": [
        {"medida": "visitas", "promedio_diario_habitual": 12.0, "promedio_diario_prep": 9000.0},
        {"medida": "hits", "promedio_diario_habitual": 40.0, "promedio_diario_prep": 250_000.0}]}
    texts = _texts(plots.against_baseline(comparison))
    assert {"10", "100", "1 000", "10 000", "100 000", "1 000 000"} <= set(texts)
    assert {"Visitas", "Hits"} <= set(texts)
    assert not any(re.fullmatch(r"\d+\.\d", t or "") for t in texts)
