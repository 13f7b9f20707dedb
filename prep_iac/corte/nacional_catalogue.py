"""Fixed facts of a national (federal) election: the 32 entities, their 300 federal
districts, the elections of one casilla, the parties and the CSV columns.

Entity IDs and names are INEGI's; the districts per entity are the 2023 federal
distritación (300 in all). District names (`DISTRITO NN`), sections and every number are
simulated.
"""

YEAR = 2024
DEFAULT_DATE = (2024, 6, 2)
DEFAULT_TZ = "America/Mexico_City"
CUT_SUFFIX = "PREP_FED"
DEFAULT_CASILLAS = 170_182  # casillas approved for the 2024 federal election

# (id, name as the INE writes it, federal districts)
ENTIDADES: list[tuple[int, str, int]] = [
    (1, "AGUASCALIENTES", 3), (2, "BAJA CALIFORNIA", 9), (3, "BAJA CALIFORNIA SUR", 2),
    (4, "CAMPECHE", 2), (5, "COAHUILA", 8), (6, "COLIMA", 2), (7, "CHIAPAS", 13),
    (8, "CHIHUAHUA", 9), (9, "CIUDAD DE MÉXICO", 22), (10, "DURANGO", 4),
    (11, "GUANAJUATO", 15), (12, "GUERRERO", 8), (13, "HIDALGO", 7), (14, "JALISCO", 20),
    (15, "MÉXICO", 40), (16, "MICHOACÁN", 11), (17, "MORELOS", 5), (18, "NAYARIT", 3),
    (19, "NUEVO LEÓN", 14), (20, "OAXACA", 10), (21, "PUEBLA", 16), (22, "QUERÉTARO", 6),
    (23, "QUINTANA ROO", 4), (24, "SAN LUIS POTOSÍ", 7), (25, "SINALOA", 7),
    (26, "SONORA", 7), (27, "TABASCO", 6), (28, "TAMAULIPAS", 8), (29, "TLAXCALA", 3),
    (30, "VERACRUZ", 19), (31, "YUCATÁN", 6), (32, "ZACATECAS", 4),
]
DISTRITOS = sum(d for _, _, d in ENTIDADES)


# (code, election line of the CSV, acta type code (simulated), name on the site)
ELECCIONES: list[tuple[str, str, str, str]] = [
    ("PRES", "PRESIDENCIA DE LA REPÚBLICA", "1", "Presidencia de la República"),
    ("SEN", "SENADURÍAS", "2", "Senadurías"),
    ("DIP", "DIPUTACIONES FEDERALES", "3", "Diputaciones federales"),
]
CODES = [code for code, *_ in ELECCIONES]

# National parties with a rough national share (each entity and casilla perturbs it),
# then two combination columns of the coalitions.
PARTIDOS: list[tuple[str, float]] = [
    ("PAN", 0.17), ("PRI", 0.10), ("PRD", 0.025), ("PVEM", 0.085), ("PT", 0.055),
    ("MC", 0.10), ("MORENA", 0.42),
]
COMBINACIONES: list[tuple[str, float]] = [("PAN_PRI_PRD", 0.012), ("PVEM_PT_MORENA", 0.02)]
VOTE_COLUMNS = [p for p, _ in PARTIDOS] + [c for c, _ in COMBINACIONES]

KEY_COLUMNS = [
    "CLAVE_CASILLA", "CLAVE_ACTA", "ID_ENTIDAD", "ENTIDAD", "ID_DISTRITO_FEDERAL",
    "DISTRITO_FEDERAL", "SECCION", "ID_CASILLA", "TIPO_CASILLA", "EXT_CONTIGUA",
    "UBICACION_CASILLA", "TIPO_ACTA",
]
