"""Waivers (dispensas) the Institute grants: a requirement or check that may fail, with a
reason, the person of the Institute who granted it, an expiry and a scope. The call leaves
unforeseen cases and shortfalls of section II to the Institute's decision (I.11 and the
paragraph after II.e), so a waiver counts only when the Institute signed its file:

    process: coah-2021-ayuntamientos  # the electoral process it was granted for
    waivers:
      - id: CONV-II.c.2               # a requirement, or a check id like hardware::memoria
        reason: el RAID es de la controladora (reporte adjunto, serie XYZ)
        owner: Dirección Ejecutiva de Innovación Electoral
        expires: 2021-06-30
        hosts: [difusor-1]            # optional: only these hosts

    prep-iac dispensa firmar dispensas.yml --llave ~/iec/dispensas   # -> dispensas.yml.sig

The signature (`ssh-keygen -Y sign`, namespace contract.WAIVER_NAMESPACE) is checked against
the keys of the inventory's `iec.waiver_signers`. A file that does not parse, an unknown id or
a missing field is an error (the user fixes the file). An unsigned file, a signature no listed
key made (forged, or a byte changed), an expired waiver or one outside the inventory's scope
(another process, another difusor's hosts) is loaded, shown in the report as such, and never
applied.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from prep_iac import contract
from prep_iac.conformance.checkids import base_id
from prep_iac.errors import PrepError
from prep_iac.onhost.publisher import signing

_FIELDS = {"id", "reason", "owner", "expires", "hosts"}
FIX = ("correct the waiver file (top level: process, waivers; each waiver: id, reason, owner, "
       "expires YYYY-MM-DD, optional hosts), then have the Institute sign it again")
SIGNER_IDENTITY = "iec"

# A waiver's standing, in the report's words.
VALID = "válida"
UNSIGNED = "sin firma"
BAD_SIGNATURE = "firma no válida"
EXPIRED = "vencida"
OUT_OF_SCOPE = "fuera de alcance"


@dataclass(frozen=True)
class Waiver:
    id: str
    reason: str
    owner: str
    expires: dt.date
    hosts: tuple[str, ...] = ()
    status: str = VALID
    why: str = ""  # when not valid: what is wrong, in Spanish

    @property
    def valid(self) -> bool:
        return self.status == VALID

    def covers(self, check: str, requirements: list[str], host: str) -> bool:
        if not self.valid or (self.hosts and host not in self.hosts):
            return False
        return self.id in requirements or self.id in (check, base_id(check))

    def to_json(self) -> dict:
        return {"id": self.id, "reason": self.reason, "owner": self.owner,
                "expires": self.expires.isoformat(), "hosts": list(self.hosts),
                "estado": self.status, "motivo": self.why}


def signature_path(path: Path) -> Path:
    return Path(str(path) + ".sig")


def sign_file(path: str | Path, key: str | Path) -> Path:
    """The Institute's side: sign a waiver file with `key` (private); writes FILE.sig."""
    path, key = Path(path), Path(key)
    load_waivers(path, _any_id, today=dt.date.min)  # refuse a malformed file before signing
    signature_path(path).unlink(missing_ok=True)  # ssh-keygen will not overwrite it
    proc = subprocess.run(["ssh-keygen", "-q", "-Y", "sign", "-f", str(key), "-n",
                           contract.WAIVER_NAMESPACE, str(path)], capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=60, check=False)
    if proc.returncode != 0:
        raise PrepError(f"cannot sign {path} with {key}: {proc.stderr.strip()}",
                        "give the Institute's waiver-signing private key (its public key is "
                        "in iec.waiver_signers)")
    return signature_path(path)


class _AnyId(set):
    def __contains__(self, item) -> bool:
        return True


_any_id = _AnyId()


def load_waivers(path: str | Path, known_ids: set[str], known_hosts: set[str] | None = None,
                 today: dt.date | None = None, *, signers: list[str] | None = None,
                 process: str | None = None) -> list[Waiver]:
    """Every waiver of ``path``, each with its standing (``status``); PrepError listing every
    problem of a malformed file (all at once). ``signers`` are the Institute's waiver keys
    (None: the caller knows no inventory, so nothing is signed for it); ``process`` and
    ``known_hosts`` bound the scope."""
    path = Path(path)
    today = today or dt.date.today()
    try:
        data = path.read_bytes()
        doc = yaml.safe_load(data.decode("utf-8"))
    except FileNotFoundError:
        raise PrepError(f"{path}: no such waiver file", "give the path of a waivers YAML file")
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise PrepError(f"{path}: cannot read it: {exc}", FIX) from None
    entries = doc.get("waivers") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise PrepError(f"{path}: expected a mapping with a 'waivers' list", FIX)
    extra = sorted(set(doc) - {"process", "waivers"})
    waivers, problems = [], [f"unknown top-level key {extra[0]!r}"] if extra else []
    for n, entry in enumerate(entries, 1):
        label = f"waiver {n}"
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            label += f" ({entry['id']})"
        try:
            waivers.append(_parse(entry, known_ids))
        except (ValueError, TypeError) as exc:
            problems.append(f"{label}: {exc}")
    if problems:
        raise PrepError(f"{path}: {len(problems)} waiver problem(s):\n" +
                        "\n".join(f"  {p}" for p in problems), FIX)
    file_status = _signature_status(path, data, signers)
    granted_for = doc.get("process")
    return [_standing(w, file_status, granted_for, process, known_hosts, today) for w in waivers]


def _signature_status(path: Path, data: bytes, signers: list[str] | None) -> tuple[str, str]:
    sig = signature_path(path)
    if not sig.is_file():
        return UNSIGNED, (f"{sig.name} no existe: una dispensa cuenta sólo firmada por el IEC "
                          "(prep-iac dispensa firmar)")
    if not signers:
        return BAD_SIGNATURE, ("el inventario no lista llaves del IEC para dispensas "
                               "(iec.waiver_signers): la firma no se puede comprobar")
    if not signing.verify(data, sig.read_bytes(), signers, SIGNER_IDENTITY,
                          contract.WAIVER_NAMESPACE):
        return BAD_SIGNATURE, (f"{sig.name} no es una firma de {path.name} por una llave de "
                               "iec.waiver_signers (llave desconocida o archivo modificado)")
    return VALID, ""


def _standing(waiver: Waiver, file_status: tuple[str, str], granted_for, process,
              known_hosts, today) -> Waiver:
    status, why = file_status
    if status != VALID:
        return replace(waiver, status=status, why=why)
    if process is not None and granted_for != process:
        return replace(waiver, status=OUT_OF_SCOPE,
                       why=f"otorgada para el proceso {granted_for!r}, no para {process!r}")
    if known_hosts is not None:
        strangers = [h for h in waiver.hosts if h not in known_hosts]
        if strangers:
            return replace(waiver, status=OUT_OF_SCOPE,
                           why=f"el host {strangers[0]!r} no es de este inventario")
    if waiver.expires < today:
        return replace(waiver, status=EXPIRED,
                       why=f"venció el {waiver.expires.isoformat()}: el IEC debe renovarla")
    return waiver


def _parse(entry, known_ids) -> Waiver:
    if not isinstance(entry, dict):
        raise TypeError("each waiver is a mapping with id, reason, owner, expires")
    unknown = sorted(set(entry) - _FIELDS)
    if unknown:
        raise ValueError(f"unknown field {unknown[0]!r}")
    missing = [f for f in ("id", "reason", "owner", "expires") if not entry.get(f)]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    wid = str(entry["id"])
    if wid not in known_ids and base_id(wid) not in known_ids:
        raise ValueError(f"unknown id {wid!r}: not a requirement of the convocatoria nor a check")
    expires = entry["expires"]
    if isinstance(expires, str):
        try:
            expires = dt.date.fromisoformat(expires)
        except ValueError:
            raise ValueError(f"expires {expires!r} is not a date YYYY-MM-DD") from None
    if isinstance(expires, dt.datetime):
        expires = expires.date()
    if not isinstance(expires, dt.date):
        raise TypeError(f"expires {expires!r} is not a date YYYY-MM-DD")
    hosts = entry.get("hosts") or []
    if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts):
        raise ValueError("hosts must be a list of host names")
    return Waiver(wid, str(entry["reason"]).strip(), str(entry["owner"]).strip(), expires,
                  tuple(hosts))
