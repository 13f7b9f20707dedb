"""`corte check`: read a cut back and say what does not add up, and where.

Works on a cut folder (zip, images and site JSON checked too), on the zip alone, or on a
bare PREP CSV (ours or the Institute's real ones: only the CSV checks apply).
"""

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from prep_iac.corte import catalogue as cat
from prep_iac.corte import csvreader, package, summary, timing
from prep_iac.corte import nacional_catalogue as nat
from prep_iac.errors import PrepError

HEX64 = re.compile(r"[0-9a-f]{64}")  # these three are matched whole
STAMP = re.compile(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2}")
CUT_DIR = re.compile(r"(\d{8})_(\d{4})_PREP_AYUN_COAH")
# Keys of a local (Coahuila) or a federal CSV: what a row not yet captured may carry.
PENDING_KEEPS = {*cat.KEY_COLUMNS, *nat.KEY_COLUMNS, "LISTA_NOMINAL"}
MAX_ROW_FINDINGS = 200  # a wholly broken file should not print 4,000 lines


@dataclass
class Finding:
    where: str  # "summary", "line 1234 ('050001B0100' 5)", "actas/x.png", ...
    what: str


@dataclass
class Report:
    source: str
    parsed: csvreader.ParsedCsv
    findings: list[Finding] = field(default_factory=list)
    recomputed: dict[str, str] = field(default_factory=dict)
    images_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.findings


def _load(path: Path) -> tuple[bytes, Path | None, str]:
    """The CSV bytes, the cut folder (if any) and a name for messages."""
    if not path.exists():
        raise PrepError(f"{path} does not exist", "give a cut folder, its zip or the CSV")
    if path.is_dir():
        zips = sorted(path.glob("*.zip"))
        if not zips:
            raise PrepError(f"{path} has no zip of the database package",
                            "give the folder of one cut (it holds <cut-id>.zip)")
        preferred = [z for z in zips if z.stem == path.name] or zips
        data, member = _read_zip(preferred[0])
        return data, path, f"{preferred[0].name}:{member}"
    if path.suffix.lower() == ".zip":
        data, member = _read_zip(path)
        return data, None, f"{path.name}:{member}"
    return path.read_bytes(), None, path.name


def _read_zip(path: Path) -> tuple[bytes, str]:
    """The acta CSV of a package and its name (COAH_AYUN_2021.csv, or e.g. PRES_2024.csv)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            name = package.ACTAS_CSV if package.ACTAS_CSV in names else next(
                (n for n in names if n.upper().endswith(".CSV") and "CANDIDATURAS" not in n.upper()), None)
            if name is None:
                raise PrepError(f"{path} holds no acta CSV", "give the zip of a PREP cut")
            return z.read(name), name
    except zipfile.BadZipFile:
        raise PrepError(f"{path} is not a readable zip", "the package may be cut off: fetch it again") from None


def _row_label(parsed: csvreader.ParsedCsv, i: int) -> str:
    r = parsed.rows[i]
    return f"line {parsed.line_numbers[i]} (acta {r.get('CLAVE_ACTA', '?').strip(chr(39))})"


def check(path: Path | str) -> Report:
    path = Path(path)
    data, folder, name = _load(path)
    parsed = csvreader.parse(data, name)
    report = Report(source=name, parsed=parsed)
    check_csv(report)
    if folder is not None:
        _check_folder(folder, parsed, report)
    return report


def check_csv(report: Report) -> None:
    """The checks that need only the CSV: header block, every row, the summary."""
    parsed = report.parsed
    f = report.findings

    # The header block, line by line.
    if not parsed.election:
        f.append(Finding("line 1", "the election line is empty"))
    if parsed.cut_time is None:
        f.append(Finding("line 2", f"cannot read the cut time in {parsed.cut_line!r}"))
    missing = [k for k in cat.SUMMARY_FIELDS if k not in parsed.summary_header]
    if missing:
        f.append(Finding("line 3", f"summary fields missing: {', '.join(missing)}"))
    if len(parsed.summary) != len(parsed.summary_header):
        f.append(Finding("line 4", "the summary has a different number of values than fields"))
    for col in ("CLAVE_ACTA", "TOTAL_VOTOS_CALCULADO", "CONTABILIZADA", "FECHA_HORA_CAPTURA"):
        if col not in parsed.header:
            f.append(Finding("acta header", f"column {col} is missing"))

    # Every captured row: its parts add up, its fields have their formats.
    parts = parsed.vote_columns + ["NO_REGISTRADOS", "NULOS"]
    row_findings = 0
    for i, r in enumerate(parsed.rows):
        if row_findings >= MAX_ROW_FINDINGS:
            f.append(Finding("rows", f"more than {MAX_ROW_FINDINGS} bad rows; stopped listing"))
            break
        problems = _row_problems(r, parts, len(parsed.header))
        for p in problems:
            f.append(Finding(_row_label(parsed, i), p))
        row_findings += len(problems)

    # The summary, recomputed from the rows.
    report.recomputed = summary.compute(parsed.rows)
    for k in cat.SUMMARY_FIELDS:
        said = parsed.summary.get(k)
        if said is not None and said.strip() != report.recomputed[k]:
            f.append(Finding("summary", f"{k} says {said.strip()} but the rows give "
                                        f"{report.recomputed[k]}"))


def _row_problems(r: dict[str, str], parts: list[str], width: int) -> list[str]:
    out = []
    if len(r) != width:
        out.append(f"has {len(r)} fields, the header has {width}")
    if r.get("CONTABILIZADA") == cat.CONTABILIZADA_FUERA:
        return out
    if not r.get("FECHA_HORA_CAPTURA", "").strip():
        # Not captured yet: only the keys and LISTA_NOMINAL may carry a value.
        filled = [k for k, v in r.items() if v.strip() and k not in PENDING_KEEPS]
        if filled:
            out.append(f"is not captured but has {', '.join(filled[:3])}"
                       + (f" and {len(filled) - 3} more" if len(filled) > 3 else ""))
        return out
    calc = r.get("TOTAL_VOTOS_CALCULADO", "").strip()
    if calc.isdigit():
        total = sum(summary.as_int(r.get(c, "")) for c in parts)
        if total != int(calc):
            out.append(f"TOTAL_VOTOS_CALCULADO is {calc} but its parts add up to {total}")
    sha = r.get("SHA", "").strip()
    if sha and not HEX64.fullmatch(sha.lower()):
        out.append(f"SHA {sha!r} is not a SHA-256")
    for col in ("FECHA_HORA_ACOPIO", "FECHA_HORA_CAPTURA", "FECHA_HORA_VERIFICACION"):
        v = r.get(col, "").strip()
        if v and not STAMP.fullmatch(v):
            out.append(f"{col} {v!r} is not dd/mm/yyyy HH:MM:SS")
    if r.get("CONTABILIZADA", "").strip() not in (cat.CONTABILIZADA_SI, cat.CONTABILIZADA_NO):
        out.append(f"CONTABILIZADA {r.get('CONTABILIZADA')!r} is not 0, 1 or 2")
    return out


HREF = re.compile(r'(?:href|src)="([^"]*)"')


def _check_publishable(folder: Path, report: Report) -> None:
    """What the publisher and the difusores rely on: regular files only, every link
    relative and inside the cut, nothing fetched from elsewhere."""
    f = report.findings
    for p in folder.rglob("*"):
        if p.is_symlink():
            f.append(Finding(str(p.relative_to(folder)), "is a symlink: a cut holds regular files only"))
        elif not (p.is_file() or p.is_dir()):
            f.append(Finding(str(p.relative_to(folder)), "is not a regular file"))
    for page in sorted(folder.glob("*.html")):
        text = page.read_text("utf-8", errors="replace")
        if "<script" in text:
            f.append(Finding(page.name, "has a script"))
        for link in HREF.findall(text):
            if link.startswith(("/", "//")) or ":" in link or ".." in link.split("/"):
                f.append(Finding(page.name, f"links outside the cut: {link}"))
            elif not (folder / link).exists():
                f.append(Finding(page.name, f"links to a missing file: {link}"))


def _check_folder(folder: Path, parsed: csvreader.ParsedCsv, report: Report) -> None:
    f = report.findings
    _check_publishable(folder, report)
    m = CUT_DIR.fullmatch(folder.name)
    if m and parsed.cut_time is not None:
        expected = timing.cut_id(parsed.cut_time)
        if expected != folder.name:
            f.append(Finding("folder", f"named {folder.name} but the CSV's cut is {expected}"))
    actas = folder / "actas"
    referenced = set()
    if actas.is_dir():
        for i, r in enumerate(parsed.rows):
            sha = r.get("SHA", "").strip().lower()
            if not sha:
                continue
            name = r.get("CLAVE_ACTA", "").strip("'") + ".png"
            referenced.add(name)
            img = actas / name
            if not img.is_file():
                f.append(Finding(_row_label(parsed, i), f"its image actas/{name} is missing"))
                continue
            report.images_checked += 1
            if hashlib.sha256(img.read_bytes()).hexdigest() != sha:
                f.append(Finding(f"actas/{name}", "SHA-256 differs from the CSV's SHA column"))
        extra = sorted(p.name for p in actas.iterdir() if p.name not in referenced)
        if extra:
            f.append(Finding("actas/", f"{len(extra)} images no row refers to, e.g. {extra[0]}"))
    # The site's JSON against the rows: pins a tampered acta even when its row still adds up.
    by_key = {r.get("CLAVE_ACTA", "").strip("'"): (i, r) for i, r in enumerate(parsed.rows)}
    for js in sorted((folder / "datos").glob("municipio_*.json")):
        try:
            data = json.loads(js.read_text("utf-8"))
        except (OSError, ValueError):
            f.append(Finding(f"datos/{js.name}", "is not readable JSON"))
            continue
        for acta in data.get("actas", []):
            hit = by_key.get(acta.get("clave"))
            if hit is None:
                f.append(Finding(f"datos/{js.name}", f"acta {acta.get('clave')} has no CSV row"))
                continue
            i, r = hit
            diffs = [c for c, v in acta.get("votos", {}).items() if r.get(c, "") != v]
            if acta.get("total") != r.get("TOTAL_VOTOS_CALCULADO"):
                diffs.append("TOTAL_VOTOS_CALCULADO")
            if diffs:
                f.append(Finding(_row_label(parsed, i),
                                 f"differs from datos/{js.name} in {', '.join(diffs)}"))
