"""The contract between the controller and the hosts, defined once.

Every path, account, file name, estado key and state, journal identifier and message
shape, timing rule and data format that more than one side of prep-iac reads or writes
lives here: the deploys (components), the push engine, the programs that run on the hosts
(prep_iac/onhost), the conformance suites, the memoria and the drill all import it.
docs/contracts.md explains it in words.

Standard library only: this module is shipped to the hosts beside prep_iac/onhost.
"""

import hashlib
import json
import re
import unicodedata
from datetime import datetime

# --- the difusor's publication ---------------------------------------------------------------
PREP_ROOT = "/srv/prep"  # cortes/<id>/, current -> cortes/<id>, estado.json
CUTS_DIR = f"{PREP_ROOT}/cortes"
CURRENT_LINK = f"{PREP_ROOT}/current"
ESTADO_FILE = f"{PREP_ROOT}/estado.json"
ESTADO_LOCK = f"{PREP_ROOT}/.estado.lock"  # flock held by whoever rewrites estado.json
WEB_ROOT = "/srv/prep-web"  # our own pages: portal, errors, not-open
ACME_WEBROOT = "/var/lib/prep-web/acme"  # HTTP-01 challenges
# nginx's logs of the PREP site, format `prep` (docs/contracts.md); the memoria reads them.
ACCESS_LOG = "/var/log/nginx/prep.access.log"
BLOCKED_LOG = "/var/log/nginx/prep.blocked.log"  # what the web-attack filter refused (403)

# --- the IEC's SFTP jail on a difusor (paths as the host sees them) ----------------------------
JAIL_ROOT = "/srv/sftp/iec"
INCOMING = "incoming"  # the only folder the IEC account can write
JAIL_ESTADO = "estado"  # read-only for the IEC: what the activator answers
JAIL_ESTADO_FILE = "estado.json"  # a copy of estado.json
JAIL_SERVED_MANIFEST = "manifiesto.json"  # the served cut's manifest (delta base)
JAIL_LAST_RESULT = "ultimo.json"  # the last activation's result
MANIFEST_SUFFIX = ".manifiesto.json"
SIGNATURE_SUFFIX = MANIFEST_SUFFIX + ".sig"
MARKER_SUFFIX = ".listo"


def manifest_name(cut_id: str) -> str:
    return cut_id + MANIFEST_SUFFIX


def signature_name(cut_id: str) -> str:
    return cut_id + SIGNATURE_SUFFIX


def marker_name(cut_id: str) -> str:
    """The marker that starts the activator, renamed into place when the upload is whole."""
    return cut_id + MARKER_SUFFIX


def marker_tmp_name(cut_id: str) -> str:
    """The marker while it is written: a dot name the activator leaves alone."""
    return "." + cut_id + MARKER_SUFFIX


def jail_path(*parts: str) -> str:
    """A path inside the jail as the IEC's SFTP session sees it (the chroot is /)."""
    return "/" + "/".join(parts)


# --- programs and their state on the hosts -----------------------------------------------------
ONHOST_LIB = "/usr/local/lib/prep-iac"  # prep_iac/contract.py + prep_iac/onhost/ on a difusor
ACTIVATOR_ETC = "/etc/prep-activator"
ACTIVATOR_CONFIG = f"{ACTIVATOR_ETC}/config.json"
ACTIVATOR_SIGNERS = f"{ACTIVATOR_ETC}/allowed_signers"
ACTIVATOR_STATE_DIR = "/var/lib/prep-activator"  # lock, the served cuts' manifests
WATCHDOG_ETC = "/etc/prep-watchdog"
WATCHDOG_CONFIG = f"{WATCHDOG_ETC}/config.json"
WATCHDOG_STATE_DIR = "/var/lib/prep-watchdog"  # the flag files nginx tests, the notice page
WATCHDOG_UNIT = "prep-watchdog.service"
# tls mode acme: prep-acme-issue (prep_iac/onhost/acme.py) gets and renews the certificate.
ACME_ETC = "/etc/prep-acme"
ACME_CONFIG = f"{ACME_ETC}/config.json"
ACME_CA_FILE = f"{ACME_ETC}/ca.pem"  # tls.acme_ca: the ACME server's CA, trusted by certbot only
ACME_STATE_DIR = "/var/lib/prep-acme"
ACME_STATUS = f"{ACME_STATE_DIR}/status"  # "<UTC time> ok: …" or "<UTC time> error: …; fix: …"
ACME_REQUEST = f"{ACME_STATE_DIR}/request.json"  # server and names of the certificate in place
ACME_UNIT = "prep-acme-issue.service"
PUBLISHER_HOME = "/opt/prep-publisher"  # the wheel and its venv
PUBLISHER_VENV = f"{PUBLISHER_HOME}/venv"
PUBLISHER_ETC = "/etc/prep-publisher"
PUBLISHER_REGISTRY = f"{PUBLISHER_ETC}/registry.json"
PUBLISHER_STATE_DIR = "/var/lib/prep-publisher"
PUBLISHER_DROP_DIR = "/srv/prep-publisher/entrada"
PUBLISHER_LOGOS = f"{PUBLISHER_ETC}/logos"  # the difusores' logo files, pushed with the list

# --- the public list of difusores on the Institute's web host (CONV-I.7, III.2) ------------------
LIST_USER = "prep-lista"  # the publisher's SFTP-only account there
LIST_JAIL = "/srv/prep-lista"  # its chroot, root-owned
LIST_PUBLIC = "publico"  # inside the jail: what nginx serves, the only folder it writes
LIST_HTML = "difusores.html"
LIST_JSON = "difusores.json"
LIST_LOGOS = "logos"  # under LIST_PUBLIC: the logo files the page shows

# --- accounts and groups -------------------------------------------------------------------------
ADMIN_GROUP = "prep-admins"  # the inventory's admins: sudo, logged
SFTP_GROUP = "prep-sftp"  # the IEC's jail account
DEFAULT_JAIL_USER = "iec"
PUBLISHER_USER = "prep-publisher"  # the publisher service's account
# The Institute's read-only account (iec.auditor_keys): runs `prep-iac verify` itself, sudo
# only for the exact read-only commands the checks need (prep_iac/conformance/reader.py).
READER_USER = "iec-lector"
READER_GROUP = "prep-lectura"
SSH_ALLOW_GROUPS = (ADMIN_GROUP, SFTP_GROUP, READER_GROUP)

# --- estado.json ----------------------------------------------------------------------------------
PUBLISHING = "publicando"  # a cut is current
NOTICE = "aviso"  # no cut for MISSED_PERIODS periods: "updates interrupted"
CLOSED = "cerrado"  # the publication window closed: the last cut stays up
NOT_OPEN = "por-abrir"  # before the window opens, or no production cut yet
CONCLUDED = "concluido"  # the PREP closed with a final cut: it stays up, never stale
STATES = (PUBLISHING, NOTICE, CLOSED, NOT_OPEN, CONCLUDED)
NOTICE_FLAGS = (NOTICE, NOT_OPEN)  # the watchdog's flag files nginx tests per request
# corte..manifiesto_sha256 describe the served tree; proceso..final are the signed stamp of
# the newest document accepted for it (a cut, a correction or a heartbeat).
ESTADO_KEYS = ("corte", "corte_fecha_hora", "activado", "periodo_s", "estado",
               "manifiesto_sha256", "contenido_sha256", "proceso", "modo", "secuencia",
               "emitido", "final")

# The activator's answer in estado/ultimo.json.
ACTIVATED = "activado"
REFUSED = "rechazado"
RESULT_KEYS = ("corte", "resultado", "motivo", "hora", "solicitud", "archivos", "nuevos",
               "tipo", "secuencia", "final",
               "segundos", "fases")

# --- timing ----------------------------------------------------------------------------------
DEFAULT_PERIOD_S = 600  # the call's 10 minutes between cuts
MISSED_PERIODS = 3  # CONV-III.2: 3 periods without a cut -> notice, strike, suspension


def watchdog_interval_s(period_s: int) -> int:
    """How often the watchdog's timer runs: often enough that the notice is late by a small
    part of a period at most (10 s on a real night, 2 s in a drill of 10 s periods)."""
    return max(2, min(10, int(period_s) // 5))


def stale_after_s(period_s: int) -> int:
    """How long without a cut before the notice shows and the publisher counts a strike."""
    return MISSED_PERIODS * int(period_s)


# --- journal identifiers and message shapes (the memoria and the drill read them) ---------------
JOURNAL_ACTIVATOR = "prep-activator"
JOURNAL_WATCHDOG = "prep-watchdog"
JOURNAL_UPS = "prep-ups"
JOURNAL_PUBLISHER = "prep-publisher"


def activated_message(cut_id: str, files: int, new: int, seconds: float) -> str:
    return f"activated {cut_id} ({files} files, {new} new, {seconds:.2f} s)"


def renewed_message(cut_id: str, sequence: int, final: bool) -> str:
    """A heartbeat (or the served cut signed again) accepted: the served cut is fresh."""
    return f"renewed {cut_id} (secuencia {sequence}{', final' if final else ''})"


def refused_message(cut_id: str, reason: str) -> str:
    return f"refused {cut_id}: {reason}"


def watchdog_message(old: str | None, new: str, reason: str) -> str | None:
    """The watchdog's line for a switch of state, or None when nothing switched."""
    if old == new:
        return None
    if new == NOTICE:
        return f"aviso ON: {reason}"
    if old == NOTICE:
        return f"aviso OFF: {reason}"
    return f"estado {old or 'ninguno'} -> {new}: {reason}"


def pushed_message(cut_id: str, difusor: str, result: str, reason: str | None,
                   sent_bytes: int, seconds: float) -> str:
    """The publisher's line per difusor and cut; result is activated, refused or failed."""
    return (f"pushed {cut_id} to {difusor}: {result}" + (f" ({reason})" if reason else "")
            + f" [{sent_bytes} bytes, {seconds:.1f} s]")


PUSHED_RE = (r"pushed (?P<corte>\S+) to (?P<difusor>\S+): (?P<result>\w+)(?: \(.*\))? "
             r"\[(?P<bytes>\d+) bytes, (?P<seconds>\d+(?:\.\d+)?) s\]$")


def suspended_message(difusor: str) -> str:
    return f"suspended {difusor}"


def reactivated_message(difusor: str) -> str:
    return f"reactivated {difusor}"


# Regexes over MESSAGE that match the shapes above (the memoria's incident rules).
ACTIVATED_RE = r"^activated (?P<cut>\S+)"
REFUSED_RE = r"^refused (?P<cut>[^\s:]+):?\s*(?P<detail>.*)"
NOTICE_ON_RE = r"aviso ON\b:?\s*(?P<detail>.*)"
NOTICE_OFF_RE = r"aviso OFF\b:?\s*(?P<detail>.*)"

# --- cuts and their signed manifest ----------------------------------------------------------------
MANIFEST_FORMAT = "prep-iac-manifiesto/2"
# A heartbeat: "the current cut is still <corte> (its content <contenido_sha256>)", signed
# with a new sequence and time when a period brings no new cut. Uploaded in a cut's manifest
# slot, so it travels and is verified exactly like one.
HEARTBEAT_FORMAT = "prep-iac-latido/1"
SIGNATURE_NAMESPACE = "prep-iac-corte@iec"  # ssh-keygen -Y sign/verify -n
SIGNER_IDENTITY = "iec"  # the principal in allowed_signers
# The other two things prep-iac signs, each in its own namespace so that no signature of one
# kind can ever pass for another: waivers the Institute grants (iec.waiver_signers) and the
# conformance reports a difusor hands in (its report_key).
WAIVER_NAMESPACE = "prep-iac-dispensa@iec"
REPORT_NAMESPACE = "prep-iac-informe@difusor"

# A cut id is a plain file name: always matched whole (fullmatch), so a trailing newline
# or a path separator can never slip through.
CUT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
# The PREP names its cuts after their time: 20210606_2000_PREP_AYUN_COAH.
_CUT_TIME = re.compile(r"(\d{8})_(\d{4})(?:_.*)?", re.DOTALL)


def is_cut_id(text: object) -> bool:
    return isinstance(text, str) and CUT_ID.fullmatch(text) is not None


def parse_cut_id(cut_id: str) -> datetime | None:
    """The local (naive) time a PREP cut id names, or None when it names none.

    '20210606_2000_PREP_AYUN_COAH' -> 2021-06-06 20:00. The caller applies the IEC's zone.
    """
    if not is_cut_id(cut_id):
        return None
    m = _CUT_TIME.fullmatch(cut_id)
    if not m:
        return None
    try:
        return datetime.strptime(m.group(1) + m.group(2), "%Y%m%d%H%M")
    except ValueError:
        return None


_SHA256 = re.compile(r"[0-9a-f]{64}")


# --- the signed stamp: freshness is judged from what was signed, never from arrival --------------
# Every manifest and heartbeat carries, signed: the electoral process it belongs to, whether
# it is production or drill material, a sequence that only grows, its issue time and whether
# it is the PREP's final cut. A difusor accepts only its own process, only a higher sequence,
# drill material only before the PREP opens (and never after production material), and
# judges staleness from the signed time it last accepted (docs/contracts.md).
PRODUCTION = "produccion"
DRILL = "simulacro"
MODES = (PRODUCTION, DRILL)
PROCESS_ID = re.compile(r"[a-z][a-z0-9-]{2,63}")
DRILL_PROCESS_SUFFIX = "-simulacro"


def drill_process(process: str) -> str:
    """The process id a drill of `process` signs under: its material can never pass for the
    election's own."""
    return process + DRILL_PROCESS_SUFFIX


def process_for(process: str, mode: str) -> str:
    return drill_process(process) if mode == DRILL else process


def content_sha256(files: list[dict]) -> str:
    """The identity of a cut's content (paths, sizes, hashes), whatever stamp signs it: a
    heartbeat names it, and the publisher finds its delta base by it."""
    digest = hashlib.sha256()
    for entry in sorted(files, key=lambda e: e["ruta"]):
        digest.update(f"{entry['ruta']}\0{entry['bytes']}\0{entry['sha256']}\n".encode())
    return digest.hexdigest()


class ManifestError(ValueError):
    """A manifest that does not follow MANIFEST_FORMAT; the message says why."""


def check_manifest_path(path: object) -> None:
    """A manifest path is relative and normal: no '..', '.', empty part or absolute start."""
    if not isinstance(path, str) or not path:
        raise ManifestError(f"invalid path {path!r}")
    if path.startswith("/"):
        raise ManifestError(f"absolute path {path!r}")
    if "\\" in path or "\x00" in path or len(path.encode()) > 1024:
        raise ManifestError(f"invalid path {path!r}")
    for part in path.split("/"):
        if part in ("", ".", ".."):
            raise ManifestError(f"path {path!r} leaves its folder or is not normal")
        if len(part.encode()) > 255:
            raise ManifestError(f"path component too long in {path!r}")


def parse_manifest(data: bytes | str | dict, *, cut_id: str | None = None,
                   max_files: int | None = None, max_bytes: int | None = None) -> dict:
    """The one reader of a manifest: parsed, checked whole, returned as its JSON object.

    {"formato": MANIFEST_FORMAT, "corte": id, "fecha_hora": ISO-8601 with offset,
     <the stamp: STAMP_KEYS>, "archivos": [{"ruta", "bytes", "sha256"}, …]}.
    Raises ManifestError.
    """
    manifest = _signed_object(data, MANIFEST_FORMAT, "manifest", cut_id)
    if not _is_aware_time(manifest.get("fecha_hora")):
        raise ManifestError("manifest has no valid fecha_hora")
    files = manifest.get("archivos")
    if not isinstance(files, list) or not files:
        raise ManifestError("manifest lists no files")
    if max_files is not None and len(files) > max_files:
        raise ManifestError(f"too many files: {len(files)} > {max_files}")
    total, seen, dirs = 0, set(), set()
    for entry in files:
        if not isinstance(entry, dict):
            raise ManifestError("manifest entry is not an object")
        path, size, digest = entry.get("ruta"), entry.get("bytes"), entry.get("sha256")
        check_manifest_path(path)
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ManifestError(f"invalid size for {path!r}")
        if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
            raise ManifestError(f"invalid sha256 for {path!r}")
        if path in seen:
            raise ManifestError(f"{path!r} is listed twice")
        seen.add(path)
        parts = path.split("/")
        dirs.update("/".join(parts[:i]) for i in range(1, len(parts)))
        total += size
    clash = seen & dirs
    if clash:
        raise ManifestError(f"{min(clash)!r} is both a file and a folder")
    if max_bytes is not None and total > max_bytes:
        raise ManifestError(f"cut too large: {total} bytes > {max_bytes}")
    return manifest


STAMP_KEYS = ("proceso", "modo", "secuencia", "emitido", "final")


def _is_aware_time(value: object) -> bool:
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except (TypeError, ValueError):
        return False


def _load(data: bytes | str | dict, what: str):
    """The JSON value of a document's bytes (a value already loaded passes through)."""
    if isinstance(data, dict):
        return data
    try:
        return json.loads(data)
    except ValueError as exc:
        raise ManifestError(f"{what} is not JSON ({exc})") from None


def _signed_object(data: bytes | str | dict, fmt: str, what: str, cut_id: str | None) -> dict:
    """A signed document's JSON object: its format, cut id and stamp checked."""
    obj = _load(data, what)
    if not isinstance(obj, dict) or obj.get("formato") != fmt:
        raise ManifestError(f"{what} format is not {fmt}")
    if not is_cut_id(obj.get("corte")):
        raise ManifestError(f"{what} names no valid cut id ({obj.get('corte')!r})")
    if cut_id is not None and obj["corte"] != cut_id:
        raise ManifestError(f"{what} is for cut {obj['corte']!r}, not {cut_id!r}")
    check_stamp(obj, what)
    return obj


def check_stamp(obj: dict, what: str = "manifest") -> None:
    """The signed stamp is whole: a document without one is refused, never trusted."""
    process, mode, seq = obj.get("proceso"), obj.get("modo"), obj.get("secuencia")
    if not isinstance(process, str) or not PROCESS_ID.fullmatch(
            process.removesuffix(DRILL_PROCESS_SUFFIX)):
        raise ManifestError(f"{what} names no valid electoral process (proceso)")
    if mode not in MODES:
        raise ManifestError(f"{what} has no valid modo ({' or '.join(MODES)})")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        raise ManifestError(f"{what} has no valid secuencia (a positive integer)")
    if not _is_aware_time(obj.get("emitido")):
        raise ManifestError(f"{what} has no valid emitido (ISO-8601 with offset)")
    if not isinstance(obj.get("final"), bool):
        raise ManifestError(f"{what} does not say whether it is final (final: true/false)")


def parse_heartbeat(data: bytes | str | dict, *, cut_id: str | None = None) -> dict:
    """The one reader of a heartbeat: {"formato": HEARTBEAT_FORMAT, "corte",
    "contenido_sha256", <the stamp>}. Raises ManifestError."""
    beat = _signed_object(data, HEARTBEAT_FORMAT, "heartbeat", cut_id)
    if not isinstance(beat.get("contenido_sha256"), str) or \
            not _SHA256.fullmatch(beat["contenido_sha256"]):
        raise ManifestError("heartbeat names no valid contenido_sha256")
    extra = sorted(set(beat) - {"formato", "corte", "contenido_sha256", *STAMP_KEYS})
    if extra:
        raise ManifestError(f"heartbeat has unknown keys: {', '.join(extra)}")
    return beat


def parse_signed(data: bytes | str, *, cut_id: str | None = None,
                 max_files: int | None = None, max_bytes: int | None = None) -> tuple[dict, bool]:
    """What travels in a cut's manifest slot, parsed once: (the manifest or the heartbeat,
    whether it is a heartbeat). Raises ManifestError."""
    obj = _load(data, "manifest")
    if isinstance(obj, dict) and obj.get("formato") == HEARTBEAT_FORMAT:
        return parse_heartbeat(obj, cut_id=cut_id), True
    return parse_manifest(obj, cut_id=cut_id, max_files=max_files, max_bytes=max_bytes), False


def manifest_total_bytes(manifest: dict) -> int:
    return sum(entry["bytes"] for entry in manifest["archivos"])


# --- text from another host --------------------------------------------------------------------
# A difusor's `motivo`, an SSH server's error, a remote ledger row: whatever another host says
# is shown or logged only through sanitize_remote_text(), so it can never start a journal line
# of its own, move a terminal's cursor or hide text behind bidi controls.
REMOTE_TEXT_MAX = 300
_ANSI_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_LINE_BREAKS = "\t\n\v\f\r\x1c\x1d\x1e\x85\u2028\u2029"


def sanitize_remote_text(text: object, limit: int = REMOTE_TEXT_MAX) -> str | None:
    """One line of visible text: ANSI escapes dropped, line breaks and tabs made spaces, every
    other C0/C1 control and invisible format character (bidi, zero-width) dropped, runs of
    spaces collapsed, clipped to `limit` characters with '…'. None stays None."""
    if text is None:
        return None
    text = _ANSI_ESCAPE.sub("", text if isinstance(text, str) else str(text))
    out = []
    for ch in text:
        if ch in _LINE_BREAKS:
            out.append(" ")
        elif unicodedata.category(ch)[0] != "C" and unicodedata.category(ch) not in ("Zl", "Zp"):
            out.append(ch)
    clean = re.sub(r" {2,}", " ", "".join(out)).strip()
    if len(clean) > limit:
        clean = clean[:max(0, limit - 1)] + "…"
    return clean


# --- the jail's storage (issue 17): what bounds the bytes the IEC account can leave in incoming/
# The activator measures incoming/ as root (lstat, never following a link) against its
# `jail_budget_bytes`, and ages abandoned uploads from the times *it* observed them (kept in
# its state dir), never from the times the uploader set. Where the host allows it, a quota or
# a filesystem of the jail's own bounds it too; `verify` reports which bounds are in force.
ACTIVATOR_SEEN_NAME = "seen.json"  # in the activator's state dir: entry -> first seen as it is
JAIL_BOUND_BUDGET = "presupuesto de bytes"  # the activator's, enforced by root everywhere
JAIL_BOUND_QUOTA = "cuota"  # a disk quota on the jail account
JAIL_BOUND_FILESYSTEM = "sistema de archivos propio"  # incoming/ on a filesystem of its own
JAIL_BUDGET_REASON = "jail over its byte budget"  # starts the motivo of what the budget drops


def jail_budget_bytes(max_cut_bytes: int) -> int:
    """The default byte budget of incoming/: two whole cuts (one arriving while the last one
    waits) plus room for manifests and signatures."""
    return 2 * int(max_cut_bytes) + 64 * 1024 * 1024
