"""Turn validation errors into one line each: file:line: path: what is wrong. Example: ..."""

from dataclasses import dataclass

from pydantic import ValidationError

from prep_iac import contract
from prep_iac.inventory.yamlfile import Loc, YamlDocument

# Keys a former schema had, and what replaced them.
REPLACED = {("iec", "window"): "iec.calendar replaced it: prep_opens for opens, "
                                "publication_ends for closes (docs/inventory.md)"}
# Why a field the call itself asks for has no default: said when it is missing.
REQUIRED_BY_THE_CALL = {
    "link_mbps": "the call (CONV-II.b.1) asks a 10 Mbps symmetric link at least: declare its "
                 "contracted capacity, it is never assumed",
    "ups": "the call (CONV-II.e) puts every device of the operation on a UPS: declare the "
           "one this server hangs on",
    "emergency_power": "the call (CONV-II.e) asks for an emergency power plant too: name it "
                       "and the document that shows it",
}
# An example of a right value, by field name (the last key of the error's path), or by
# (parent, field) where a name means two things (the calendar's drills, a stage's contacts).
EXAMPLES = {
    "iec": "iec: {process: ..., official_url: ..., sources: [...], sftp_keys: [...], signers: [...], calendar: {...}}",
    "admins": "admins: {networks: [203.0.113.0/24], accounts: [{name: mgarcia, keys: [ssh-ed25519 AAAA...]}]}",
    "official_url": "official_url: https://www.iec.org.mx/",
    "sources": "sources: [198.51.100.0/28]",
    "networks": "networks: [203.0.113.0/24, 2001:db8:10::/48]",
    "sftp_keys": "sftp_keys: [ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA... iec-publisher]",
    "signers": "signers: [ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA... iec-firma]",
    "keys": "keys: [ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA... name@laptop]",
    "host_key": "host_key: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA...  (ssh-keyscan -t ed25519 HOST)",
    "period_s": "period_s: 600",
    "process": "process: coah-2021-ayuntamientos",
    "calendar": "the calendar block of inventories/example-difusor.yml (the 2021 call)",
    "timezone": "timezone: America/Monterrey",
    "notice_by": 'notice_by: "2021-05-12"',
    "infrastructure_by": 'infrastructure_by: "2021-05-14"',
    "installation": 'installation: {from: "2021-05-12", to: "2021-05-15"}',
    "drills": 'drills: {from: "2021-05-16", to: "2021-05-30", days: ["2021-05-16", "2021-05-30"]}',
    "days": 'days: ["2021-05-16", "2021-05-23", "2021-05-30"]',
    "from": 'from: "2021-05-16"',
    "to": 'to: "2021-05-30"',
    "public_list_from": 'public_list_from: "2021-06-01"',
    "prep_opens": 'prep_opens: "2021-06-06 18:00"',
    "prep_closes": 'prep_closes: "2021-06-07 18:00"',
    "publication_ends": 'publication_ends: "2021-06-15 23:59"',
    "memoria_by": 'memoria_by: "2021-06-15"',
    "accelerated": "accelerated: false   (true only for a lab's or a drill's calendar)",
    "keep_cuts": "keep_cuts: 6",
    "accounts": "accounts: [{name: mgarcia, keys: [ssh-ed25519 AAAA... mgarcia@laptop]}]",
    "name": "name: mgarcia",
    "address": "address: 203.0.113.10",
    "ssh_port": "ssh_port: 22",
    "ssh_user": "ssh_user: mgarcia",
    "ssh_key": "ssh_key: ~/.ssh/id_ed25519",
    "server_names": "server_names: [prep.example.mx]",
    "portal_origins": "portal_origins: [https://www.example.mx]",
    "public_url": "public_url: https://www.example.mx/prep/",
    "link_mbps": "link_mbps: 100   (the contracted symmetric capacity; CONV-II.b.1 asks 10 at least)",
    "emergency_power": ('emergency_power: {plant: "Planta diésel 60 kVA, serie 123", '
                        'evidence: documentos/planta.pdf, tested_on: "2021-05-10"}'),
    "plant": 'plant: "Planta diésel 60 kVA, Cummins C60D6, serie 123"',
    "evidence": "evidence: documentos/planta-emergencia.pdf   (data sheet and last load test)",
    "tested_on": 'tested_on: "2021-05-10"',
    "report_key": "report_key: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA... informes-difusor",
    "waiver_signers": "waiver_signers: [ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA... iec-dispensas]",
    "contact": 'contact: {name: María García, role: Jefa de sistemas, phone: "+52 844 000 0000", hours: 24 h}',
    "tls": "tls: {mode: acme, email: sistemas@example.mx}",
    "email": "email: sistemas@example.mx",
    "cert": "cert: ~/tls/fullchain.pem",
    "organization": "organization: Diario de Ejemplo",
    "phone": 'phone: "+52 844 000 0000"',
    "role": "role: Jefa de sistemas",
    "hours": 'hours: "24 h del 6 al 7 de junio"',
    "description": "description: UPS del difusor",
    "driver": "driver: usbhid-ups",
    "port": "port: auto   (or a device, like /dev/ttyS0)",
    "notify_webhook": "notify_webhook: https://hooks.example.mx/prep",
    "notify_mail": "notify_mail: guardia@example.mx",
    "state_dir": f"state_dir: {contract.PUBLISHER_STATE_DIR}",
    "mode": "mode: acme   (or files, lab-ca)",
    "ups": "ups: {driver: usbhid-ups, port: auto}   (the UPS the server hangs on, CONV-II.e)",
    "rate_limits": "rate_limits: {requests_per_s: 50, burst: 200, connections: 100}",
    "ha": "ha: {peer: difusor-2, floating_address: 203.0.113.20/24}",
    "floating_address": "floating_address: 203.0.113.20/24",
    "sftp_identity": "sftp_identity: ~/iec-keys/iec-publisher",
    "signing_key": "signing_key: ~/iec-keys/iec-firma",
    "drop_dir": f"drop_dir: {contract.PUBLISHER_DROP_DIR}",
    "difusores": "difusores: {difusor-1: {address: 203.0.113.10, server_names: [prep.example.mx]}}",
    "participation": ("participation: {organization: Diario de Ejemplo, legal_representative: "
                      "{...}, logo: logo-ejemplo.png, contacts: {installation: [...], "
                      "drills: [...], operation: [...]}}"),
    "legal_representative": "legal_representative: {name: Ana Pérez, role: Directora general}",
    "logo": "logo: logo-ejemplo.png   (PNG or JPEG, ≤ 256 KiB, each side 48–1024 px; "
            "relative to the inventory)",
    "contacts": ('contacts: {installation: [{name: María García, role: Jefa de sistemas, '
                 'phone: "+52 844 000 0000", hours: "9 a 18 h"}], drills: [...], '
                 'operation: [...]}'),
    ("contacts", "installation"): ('installation: [{name: María García, role: Jefa de sistemas, '
                                   'phone: "+52 844 000 0000", hours: "9 a 18 h"}]'),
    ("contacts", "drills"): ('drills: [{name: María García, role: Jefa de sistemas, '
                             'phone: "+52 844 000 0000", hours: "9 a 18 h"}]'),
    ("contacts", "operation"): ('operation: [{name: Luis Treviño, role: Guardia de operación, '
                                'phone: "+52 844 000 0001", hours: "24 h del 6 al 15 de junio"}]'),
    "publishers": "publishers: {publisher-1: {address: 198.51.100.2, sftp_identity: ..., signing_key: ...}}",
}


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    path: str
    what: str
    example: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{where}: {self.path or '(top level)'}: {self.what}"
        if not self.example:
            return text
        return f"{text}{'' if text[-1] in '.?!' else '.'} Example: {self.example}"


def dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _example_for(loc: Loc) -> str | None:
    names = [p for p in loc if isinstance(p, str)]
    for i in range(len(names) - 1, -1, -1):  # innermost key first
        parent = names[i - 1] if i else None
        for key in ((parent, names[i]), names[i]):
            if key in EXAMPLES:
                return EXAMPLES[key]
    return None


def _what(error: dict) -> str:
    kind = error["type"]
    if kind == "missing":
        field = error["loc"][-1] if error["loc"] else None
        why = REQUIRED_BY_THE_CALL.get(field) if isinstance(field, str) else None
        return f"required field is missing: {why}" if why else "required field is missing"
    if kind == "extra_forbidden":
        loc = tuple(error["loc"])
        return f"unknown key {loc[-1]!r}" + (f"; {REPLACED[loc]}" if loc in REPLACED else "")
    if kind == "value_error":
        return str(error["ctx"]["error"]) if "ctx" in error else error["msg"]
    if kind == "literal_error":
        return f"{error['input']!r} is not allowed: {error['msg'].lower()}"
    return f"{error['msg'].lower()} (got {error['input']!r})"


def _clean_loc(loc: tuple) -> Loc:
    # pydantic puts validator names ("function-after[...]") into the path of Annotated types
    return tuple(p for p in loc if not (isinstance(p, str) and ("[" in p and "]" in p and "(" in p)))


def problems_from(error: ValidationError, doc: YamlDocument) -> list[Problem]:
    out = []
    for item in error.errors(include_url=False):
        loc = _clean_loc(item["loc"])
        if item["type"] == "extra_forbidden":
            example = None
        else:
            example = _example_for(loc)
        out.append(Problem(str(doc.path), doc.line_of(loc), dotted(loc), _what(item), example))
    return out


def duplicate_problems(doc: YamlDocument) -> list[Problem]:
    out = []
    for loc, line, first in doc.duplicates:
        kind = "host" if len(loc) == 2 and loc[0] in ("difusores", "publishers") else "key"
        out.append(Problem(str(doc.path), line, dotted(loc),
                           f"duplicate {kind} {loc[-1]!r} (first at line {first})"))
    return out
