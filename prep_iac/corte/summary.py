"""The 13 summary fields, computed from the acta rows (as strings, the way the CSV has them).

The same function serves the writer and `corte check`, so a published header is by
construction what its rows say; the tests recompute it independently as well.
"""

from prep_iac.corte import catalogue as cat


def trunc4(num: int, den: int) -> str:
    """A percentage with 4 decimals, truncated (never rounded), in integer arithmetic so
    no float can turn 33.33339999 into 33.3334."""
    if den <= 0:
        return "0.0000"
    q = num * 100 * 10_000 // den
    return f"{q // 10_000}.{q % 10_000:04d}"


def as_int(cell: str) -> int:
    """A vote cell as a number: ILEGIBLE, SIN DATO, '-' and empty count as zero."""
    cell = cell.strip()
    return int(cell) if cell.isdigit() else 0


def compute(rows: list[dict[str, str]]) -> dict[str, str]:
    esperadas = fuera = capturadas = contabilizadas = inconsistentes = no_contab = 0
    ln_contab = votos_c = votos_s = 0
    for r in rows:
        contab = r.get("CONTABILIZADA", "").strip()
        if contab == cat.CONTABILIZADA_FUERA:
            fuera += 1
            continue
        esperadas += 1
        if not r.get("FECHA_HORA_CAPTURA", "").strip():
            continue
        capturadas += 1
        if r.get("OBSERVACIONES", "").strip():
            inconsistentes += 1
        if contab == cat.CONTABILIZADA_SI:
            contabilizadas += 1
            ln_contab += as_int(r.get("LISTA_NOMINAL", ""))
            total = as_int(r.get("TOTAL_VOTOS_CALCULADO", ""))
            votos_c += total
            if r.get("TIPO_CASILLA", "").strip() != "S":
                votos_s += total
        else:
            no_contab += 1
    return {
        "ACTAS_ESPERADAS": str(esperadas),
        "ACTAS_REGISTRADAS": str(capturadas + fuera),
        "ACTAS_FUERA_CATALOGO": str(fuera),
        "ACTAS_CAPTURADAS": str(capturadas),
        "PORCENTAJE_ACTAS_CAPTURADAS": trunc4(capturadas, esperadas),
        "ACTAS_CONTABILIZADAS": str(contabilizadas),
        "PORCENTAJE_ACTAS_CONTABILIZADAS": trunc4(contabilizadas, esperadas),
        "PORCENTAJE_ACTAS_INCONSISTENCIAS": trunc4(inconsistentes, esperadas),
        "ACTAS_NO_CONTABILIZADAS": str(no_contab),
        "LISTA_NOMINAL_ACTAS_CONTABILIZADAS": str(ln_contab),
        "TOTAL_VOTOS_C_CS": str(votos_c),
        "TOTAL_VOTOS_S_CS": str(votos_s),
        # Especiales have no nominal list, so participation uses the votes without them.
        "PORCENTAJE_PARTICIPACION_CIUDADANA": trunc4(votos_s, ln_contab),
    }


def totals_by_column(rows: list[dict[str, str]], columns: list[str]) -> dict[str, int]:
    """Votes per party column over the counted actas (what the site shows)."""
    out = dict.fromkeys(columns, 0)
    for r in rows:
        if r.get("CONTABILIZADA", "").strip() == cat.CONTABILIZADA_SI:
            for col in columns:
                out[col] += as_int(r.get(col, ""))
    return out
