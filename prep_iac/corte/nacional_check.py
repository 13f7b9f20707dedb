"""`corte check` on a national cut: every election's package, each finding named by its
election (``DIP · line 812 (acta …)``).

Per election: the zip's SHA-256 and size against ``datos/elecciones.json``, its members (the
CSV and a LEEME.txt that describes it), the CSV checks of a single cut (check.check_csv:
header block, every row, the summary recomputed from the rows), the row count, the election
line, and the site's JSON (the election's and each entity's summary) against the rows.
Cut-wide: every CSV says the same time, the folder's name agrees, and what a difusor must
not serve (symlinks, scripts, links leaving the cut or to missing files).
"""

import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from prep_iac.corte import csvreader, package, summary
from prep_iac.corte.check import Finding, Report, check_csv
from prep_iac.corte.nacional import cut_id
from prep_iac.corte.nacional_cut import INDEX_JSON
from prep_iac.errors import PrepError

HREF = re.compile(r'(?:href|src)="([^"]*)"')


@dataclass
class NationalReport:
    folder: Path
    elections: list[tuple[str, Report]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # cut-wide, and per election
    rows: dict[str, int] = field(default_factory=dict)  # per election, as checked

    @property
    def ok(self) -> bool:
        return not self.findings


def is_national(path: Path | str) -> bool:
    return Path(path).is_dir() and (Path(path) / INDEX_JSON).is_file()


def check_national(folder: Path | str) -> NationalReport:
    folder = Path(folder)
    try:
        index = json.loads((folder / INDEX_JSON).read_text("utf-8"))
        elections = index["elecciones"]
    except (OSError, ValueError, KeyError, TypeError):
        raise PrepError(f"{folder / INDEX_JSON} is not the index of a national cut",
                        "give the folder of a national cut as `corte generate` wrote it") from None
    report = NationalReport(folder)
    _check_tree(folder, report.findings)
    times = {}
    for entry in elections:
        code = str(entry.get("codigo", "?"))
        found = _check_election(folder, entry, report.findings)
        if found is None:
            continue
        report.elections.append((code, found))
        # An election's parsed rows are ~800 MB for 170,000 actas: keep one at a time.
        report.rows[code] = len(found.parsed.rows)
        found.parsed.rows, found.parsed.line_numbers = [], []
        report.findings += [Finding(f"{code} · {x.where}", x.what) for x in found.findings]
        times[code] = found.parsed.cut_time
    if len(set(times.values())) > 1:
        said = ", ".join(f"{c} {t:%Y-%m-%d %H:%M}" for c, t in times.items() if t)
        report.findings.append(Finding("cut", f"the elections' CSVs disagree on the time: {said}"))
    first = next(iter(times.values()), None)
    if first is not None and cut_id(first) != folder.name:
        report.findings.append(Finding("folder", f"named {folder.name} but the CSVs' cut is "
                                                  f"{cut_id(first)}"))
    return report


def _check_election(folder: Path, entry: dict, f: list[Finding]) -> Report | None:
    code = str(entry.get("codigo", "?"))
    name = str(entry.get("zip", ""))
    path = folder / name
    if not name or "/" in name or not path.is_file():
        f.append(Finding(code, f"its package {name or '(unnamed)'} is missing"))
        return None
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != entry.get("zip_sha256"):
        f.append(Finding(f"{code} · {name}", f"SHA-256 differs from {INDEX_JSON}"))
    if len(data) != entry.get("zip_bytes"):
        f.append(Finding(f"{code} · {name}", f"is {len(data)} bytes, {INDEX_JSON} says "
                                             f"{entry.get('zip_bytes')}"))
    csv_name = str(entry.get("csv", ""))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            members = z.namelist()
            if csv_name not in members:
                f.append(Finding(f"{code} · {name}", f"holds no {csv_name}"))
                return None
            csv_bytes = z.read(csv_name)
            leeme = csvreader.decode(z.read(package.LEEME))[0] if package.LEEME in members else ""
    except zipfile.BadZipFile:
        f.append(Finding(f"{code} · {name}", "is not a readable zip"))
        return None
    if not leeme:
        f.append(Finding(f"{code} · {name}", f"has no {package.LEEME}"))
    elif csv_name not in leeme or str(entry.get("eleccion")) not in leeme:
        f.append(Finding(f"{code} · {name}:{package.LEEME}",
                         f"does not describe {csv_name} ({entry.get('eleccion')})"))
    parsed = csvreader.parse(csv_bytes, f"{name}:{csv_name}")
    report = Report(source=f"{name}:{csv_name}", parsed=parsed)
    check_csv(report)
    g = report.findings
    if parsed.election != entry.get("eleccion"):
        g.append(Finding("line 1", f"the election is {parsed.election!r}, "
                                   f"{INDEX_JSON} says {entry.get('eleccion')!r}"))
    if len(parsed.rows) != entry.get("filas"):
        g.append(Finding("rows", f"{len(parsed.rows)} rows, {INDEX_JSON} says {entry.get('filas')}"))
    _against(g, INDEX_JSON, entry.get("resumen"), report.recomputed)
    _check_site(folder / code, parsed, report)
    return report


def _against(g: list[Finding], where: str, said: object, rows: dict[str, str]) -> None:
    """A published summary against the one recomputed from the rows."""
    if not isinstance(said, dict):
        g.append(Finding(where, "has no summary"))
        return
    diffs = [k for k, v in rows.items() if said.get(k) != v]
    if diffs:
        k = diffs[0]
        g.append(Finding(where, f"{k} says {said.get(k)} but the rows give {rows[k]}"
                                + (f" ({len(diffs) - 1} more fields differ)" if len(diffs) > 1 else "")))


def _check_site(site: Path, parsed: csvreader.ParsedCsv, report: Report) -> None:
    g = report.findings
    try:
        resumen = json.loads((site / "datos" / "resumen.json").read_text("utf-8"))
    except (OSError, ValueError):
        g.append(Finding(f"{site.name}/datos/resumen.json", "is missing or not JSON"))
        return
    _against(g, f"{site.name}/datos/resumen.json", resumen.get("resumen"), report.recomputed)
    by_entity: dict[str, list[dict[str, str]]] = {}
    for r in parsed.rows:
        if r.get("CONTABILIZADA") != "2":
            by_entity.setdefault(r.get("ID_ENTIDAD", ""), []).append(r)
    for ent in resumen.get("entidades", []):
        js = site / str(ent.get("datos", ""))
        try:
            data = json.loads(js.read_text("utf-8"))
        except (OSError, ValueError):
            g.append(Finding(f"{site.name}/{ent.get('datos')}", "is missing or not JSON"))
            continue
        rows = summary.compute(by_entity.get(str(data.get("id_entidad")), []))
        _against(g, f"{site.name}/{ent.get('datos')}", data.get("resumen"), rows)


def _check_tree(folder: Path, f: list[Finding]) -> None:
    root = folder.resolve()
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if p.is_symlink():
            f.append(Finding(rel, "is a symlink: a cut holds regular files only"))
        elif not (p.is_file() or p.is_dir()):
            f.append(Finding(rel, "is not a regular file"))
        elif p.suffix == ".html":
            text = p.read_text("utf-8", errors="replace")
            if "<script" in text:
                f.append(Finding(rel, "has a script"))
            for link in HREF.findall(text):
                target = (p.parent / link).resolve()
                if link.startswith(("/", "//")) or ":" in link or not target.is_relative_to(root):
                    f.append(Finding(rel, f"links outside the cut: {link}"))
                elif not target.exists():
                    f.append(Finding(rel, f"links to a missing file: {link}"))
