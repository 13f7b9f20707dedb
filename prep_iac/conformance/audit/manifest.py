"""CONV-I.3 / I.9 from outside: the IEC's signed manifest (format of prep_iac.onhost.publisher.manifest)
is verified with `ssh-keygen -Y verify` against the IEC signers, then every file it lists
(or a seeded sample) is fetched from the PREP path and hashed."""

from __future__ import annotations

import hashlib
import random
import time
from pathlib import Path
from urllib.parse import quote

from prep_iac.conformance.audit.common import ESTADO, Target, result
from prep_iac.conformance.audit.pacing import REQUESTS
from prep_iac.conformance.audit.web import NOTICE_STATES, parse_estado
from prep_iac.conformance.model import CUMPLE, MANUAL, NO_APLICA, NO_CUMPLE, Command
from prep_iac.errors import PrepError
from prep_iac.onhost.publisher import signing
from prep_iac.onhost.publisher.manifest import Manifest

MAX_LISTED = 10  # mismatches shown in the evidence; the count says how many in all


def load(path: Path) -> Manifest:
    try:
        return Manifest.from_bytes(path.read_bytes())
    except FileNotFoundError:
        raise PrepError(f"{path}: no such manifest", "give the cut's manifiesto.json") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise PrepError(f"{path}: not a prep-iac manifest ({exc})",
                        "give the manifiesto.json the publisher signed") from None


def verify_command(sig: Path) -> str:
    return (f"ssh-keygen -Y verify -f allowed_signers -I {signing.IDENTITY} "
            f"-n {signing.NAMESPACE} -s {sig} < manifiesto")


def signature_check(t: Target) -> tuple[object, Manifest | None]:
    manifest_path, sig = t.manifest, t.signature
    manifest = load(manifest_path)
    if not sig or not sig.exists():
        return result(t, "audit::manifiesto_firmado", NO_CUMPLE,
                      f"no hay firma del manifiesto ({sig}): sin firma no hay origen probado"), \
            None
    if not t.signers:
        return result(t, "audit::manifiesto_firmado", MANUAL,
                      "sin claves de firma del IEC con qué verificar (dé -i REGISTRO o "
                      "--signers ARCHIVO)"), manifest
    good = signing.verify(manifest_path.read_bytes(), sig.read_bytes(), t.signers)
    ev = [Command(verify_command(sig), 0 if good else 1,
                  f"corte {manifest.cut_id} ({manifest.timestamp}), {len(manifest.entries)} "
                  f"archivos, {manifest.total_bytes} bytes; firmantes: {len(t.signers)}")]
    if not good:
        return result(t, "audit::manifiesto_firmado", NO_CUMPLE,
                      "la firma del manifiesto no es de una clave del IEC", ev), None
    return result(t, "audit::manifiesto_firmado", CUMPLE,
                  f"firma válida del IEC para el corte {manifest.cut_id}", ev), manifest


def fetch_digest(t: Target, url: str, attempts: int = 3):
    """(response, sha256 hex) of one file, paced; a 429 is retried after a pause."""
    for attempt in range(attempts):
        REQUESTS.wait()
        digest = hashlib.sha256()
        resp = t.client.request(url, sink=digest.update)
        if resp.status != 429 or attempt == attempts - 1:
            return resp, digest.hexdigest()
        time.sleep(1.0 + attempt)
    raise AssertionError("unreachable")


def files_check(t: Target, manifest: Manifest):
    entries = list(manifest.entries)
    scope = f"los {len(entries)} archivos"
    if t.sample and t.sample < len(entries):
        entries = random.Random(t.seed).sample(entries, t.sample)
        scope = f"una muestra de {t.sample} de {len(manifest.entries)} (semilla {t.seed})"
    bad = []
    for entry in entries:
        resp, got = fetch_digest(t, t.url + quote(entry.path))
        if resp.status != 200:
            bad.append(f"{entry.path}: HTTP {resp.status}")
        elif got != entry.sha256:
            bad.append(f"{entry.path}: sha256 {got[:16]}… en vez de {entry.sha256[:16]}…")
    lines = bad[:MAX_LISTED] + ([f"… y {len(bad) - MAX_LISTED} más"] if len(bad) > MAX_LISTED
                                else [])
    ev = [Command(f"GET {t.url}<ruta> y SHA-256 de {scope}", None,
                  "\n".join(lines) or "todos idénticos")]
    if bad:
        return result(t, "audit::archivos_identicos", NO_CUMPLE,
                      f"{len(bad)} archivo(s) distintos del manifiesto del IEC: " +
                      "; ".join(bad[:3]), ev)
    return result(t, "audit::archivos_identicos", CUMPLE,
                  f"{scope} idénticos byte a byte al corte {manifest.cut_id}", ev)


def check(t: Target) -> tuple[list, Manifest | None]:
    """(results, the verified manifest or None)."""
    if not t.manifest:
        asked = "sin --manifest: dé el manifiesto firmado del último corte para comparar"
        return [result(t, "audit::manifiesto_firmado", MANUAL, asked),
                result(t, "audit::archivos_identicos", MANUAL, asked)], None
    signed, manifest = signature_check(t)
    if manifest is None:
        return [signed, result(t, "audit::archivos_identicos", NO_CUMPLE,
                               "el manifiesto no está verificado: no hay contra qué comparar")], None
    # Unverifiable (no signers given) still compares the files, but is not "the IEC's".
    verified = manifest if signed.status == CUMPLE else None
    state = _published_state(t.estado())
    if state in NOTICE_STATES:
        return [signed, notice_shown(t, state)], verified
    files = files_check(t, manifest)
    if files.status == NO_CUMPLE and "HTTP 503" in files.detail:
        # The watchdog may put the notice up while the files are fetched (the state was read
        # first): read it again, once the answers are in, before calling the files wrong.
        state = _published_state(t.client.get(t.url + ESTADO))
        if state in NOTICE_STATES:
            return [signed, notice_shown(t, state)], verified
    return [signed, files], verified


def own_format(t: Target, files) -> object:
    """CONV-I.3b from the files' finding: the IEC's own files served means no own format
    needs the IEC's authorization. Otherwise the authorization is owed ("manual"), and a
    modification is CONV-I.3's failure, not counted twice."""
    if files.status == CUMPLE:
        return result(t, "audit::formato_del_iec", CUMPLE,
                      "los archivos servidos son los del IEC: ningún formato propio",
                      files.evidence)
    return result(t, "audit::formato_del_iec", MANUAL,
                  "no se comprobó que los archivos servidos sean los del IEC "
                  f"({files.status}: {files.detail}): si el difusor presenta un formato "
                  "propio, la autorización previa del IEC", files.evidence)


def notice_shown(t: Target, state: str):
    # The notice or not-open page replaces every file (CONV-III.2): nothing to compare;
    # the stale cut itself is CONV-I.10's finding.
    return result(t, "audit::archivos_identicos", NO_APLICA,
                  f"estado {state}: el difusor muestra su aviso en lugar de los archivos del "
                  "corte")


def _published_state(resp) -> str | None:
    data, _ = parse_estado(resp)
    return data.get("estado") if data else None
