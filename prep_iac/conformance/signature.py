"""Signed reports: `verify` and `audit` sign what they write with the difusor's key (its public
half is `report_key` in the inventory; the private one is given on the command line or in
$PREP_INFORME_LLAVE, never stored in the repo), and `prep-iac informe verificar` checks a
report against the Institute's copy of the inventory: every file's signature by a difusor's
report_key (namespace contract.REPORT_NAMESPACE), the report being about that difusor, and
its age.

Each written file (conformance.json, .md, .html) gets its own FILE.sig, so a changed byte in
any of them fails the check.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from prep_iac import contract
from prep_iac.errors import PrepError
from prep_iac.onhost.publisher import signing

KEY_ENV = "PREP_INFORME_LLAVE"
REPORT_FILES = ("conformance.json", "conformance.md", "conformance.html")
DEFAULT_MAX_AGE = dt.timedelta(hours=24)


def key_from(option: str | None) -> Path | None:
    """The private key that signs reports: the option, else $PREP_INFORME_LLAVE, else none."""
    value = option or os.environ.get(KEY_ENV)
    return Path(value).expanduser() if value else None


def public_key(private: Path) -> str:
    """``type base64`` of a private key file (``ssh-keygen -y``: no passphrase prompt)."""
    proc = subprocess.run(["ssh-keygen", "-y", "-f", str(private)], capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=30, check=False)
    if proc.returncode != 0:
        raise PrepError(f"cannot read the report-signing key {private}: "
                        f"{proc.stderr.strip() or 'not a private key'}",
                        f"give an unencrypted SSH private key (--llave-informe or ${KEY_ENV})")
    return " ".join(proc.stdout.split()[:2])


def _bare(key: str) -> str:
    return " ".join(key.split()[:2])


def signer_for(private: Path, difusores: dict) -> str:
    """The difusor (name) whose report_key is the public half of ``private``."""
    mine = public_key(private)
    for name, difusor in difusores.items():
        if difusor.report_key and _bare(difusor.report_key) == mine:
            return name
    raise PrepError(f"the key {private} is not the report_key of any difusor of this report "
                    f"({', '.join(difusores) or 'none'})",
                    "add its public key as report_key of the difusor in the inventory "
                    "(the Institute's copy too), or sign with the key that is there")


def sign_files(paths: dict[str, Path], private: Path) -> dict[str, Path]:
    """Sign every written report file; returns the signatures' paths."""
    out = {}
    for kind, path in paths.items():
        sig = Path(str(path) + ".sig")
        sig.unlink(missing_ok=True)  # ssh-keygen -Y sign will not overwrite it
        proc = subprocess.run(["ssh-keygen", "-q", "-Y", "sign", "-f", str(private), "-n",
                               contract.REPORT_NAMESPACE, str(path)], capture_output=True,
                              text=True, stdin=subprocess.DEVNULL, timeout=60, check=False)
        if proc.returncode != 0:
            raise PrepError(f"cannot sign {path} with {private}: {proc.stderr.strip()}",
                            "give the difusor's report-signing private key (unencrypted)")
        out[f"{kind}_sig"] = sig
    return out


def _files(report: Path) -> list[Path]:
    folder = report if report.is_dir() else report.parent
    main = folder / REPORT_FILES[0] if report.is_dir() else report
    if not main.is_file():
        raise PrepError(f"{main}: no such report", "give a report folder or its conformance.json")
    return [main] + [folder / n for n in REPORT_FILES if folder / n != main
                     and (folder / n).is_file()]


def _about(report: dict, difusor) -> bool:
    """The report looks at this difusor: its address among verify's hosts, or the audited
    URL's host is its address, a server name or its public URL's host."""
    if report.get("informe") == "verify":
        return difusor.address in (report.get("direcciones") or {}).values()
    host = urlsplit(report.get("objetivo") or "").hostname
    public = urlsplit(difusor.public_url).hostname if difusor.public_url else None
    return bool(host) and host in {difusor.address, public, *difusor.server_names}


def check_report(report_path: str | Path, inventory, max_age: dt.timedelta = DEFAULT_MAX_AGE,
                 now: dt.datetime | None = None) -> dict:
    """Every problem of a signed report against the Institute's inventory, and who signed it:
    {"firmante": name | None, "generado": ..., "archivos": [...], "problemas": [...]}."""
    files = _files(Path(report_path))
    keys = {n: d.report_key for n, d in inventory.difusores.items() if d.report_key}
    problems, signers = [], set()
    if not keys:
        problems.append("el inventario no declara report_key para ningún difusor")
    for path in files:
        sig = Path(str(path) + ".sig")
        if not sig.is_file():
            problems.append(f"{path.name}: sin firma ({sig.name} no existe)")
            continue
        data, signature = path.read_bytes(), sig.read_bytes()
        who = [n for n, k in keys.items()
               if signing.verify(data, signature, [k], n, contract.REPORT_NAMESPACE)]
        if not who:
            problems.append(f"{path.name}: la firma no es de ninguna report_key del inventario "
                            "(llave desconocida o archivo modificado)")
        signers.update(who)
    if len(signers) > 1:
        problems.append(f"los archivos los firmaron llaves distintas: {', '.join(sorted(signers))}")
    try:
        report = json.loads(files[0].read_text(encoding="utf-8"))
        made = dt.datetime.fromisoformat(report["generado"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        problems.append(f"{files[0].name}: no es un informe de prep-iac legible ({exc})")
        report, made = {}, None
    signer = next(iter(signers)) if len(signers) == 1 else None
    if signer and report and not _about(report, inventory.difusores[signer]):
        problems.append(f"el informe no es de {signer}: ni sus hosts ni su objetivo son los de "
                        "ese difusor en el inventario")
    now = now or dt.datetime.now(dt.UTC)
    if made is not None:
        if made.tzinfo is None:
            problems.append(f"generado {report['generado']} sin zona horaria")
        elif now - made > max_age:
            problems.append(f"generado {report['generado']}: tiene más de "
                            f"{_hours(max_age)} h (límite --max-horas)")
        elif made - now > dt.timedelta(minutes=5):
            problems.append(f"generado {report['generado']}: una fecha futura")
    return {"firmante": signer, "generado": report.get("generado"), "informe":
            report.get("informe"), "archivos": [p.name for p in files], "problemas": problems}


def _hours(delta: dt.timedelta) -> str:
    return f"{delta.total_seconds() / 3600:g}"
