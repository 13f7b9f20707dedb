#!/usr/bin/python3
"""prep-activator: turns a signed cut uploaded into the IEC's jail into the served cut.

Installed on every difusor by prep-iac (component `activator`); standard library and
`ssh-keygen` only, so a bare Debian runs it. Run as root by prep-activator.service when a
`incoming/<cut-id>.listo` marker appears (the publisher writes it after the files, the
manifest and its signature), and with --sweep by a timer to drop abandoned uploads.

One cut, in order; anything wrong refuses the cut and leaves what is served untouched:
  1. the manifest's signature (`ssh-keygen -Y verify`, our namespace, the IEC's signers);
  2. the manifest: cut id, paths (relative, no `..`), size and file-count limits, and its
     signed stamp: this difusor's process, a sequence above the served one, drill material
     only before the PREP opens (contract.py: the signed stamp);
  3. room on disk for the new files;
  4. the cut tree, built in cortes/.tmp-<id>: unchanged files are hard links to the served
     cut, new ones are *copied* out of the jail while hashing the copy (the IEC account
     cannot change a file after it was checked), opened without following any symlink;
  5. rename into cortes/<id>, then `current` switched by symlink + rename (atomic);
  6. estado.json under its lock, the watchdog's pass (the notice goes before the answer),
     the result copied to the jail's estado/, old cuts pruned.
A crash anywhere leaves `current` on the old or the new cut; the next run removes leftovers.

A signed heartbeat (or the served cut's manifest signed again) names the served content
with a newer stamp: it renews the served cut's freshness and changes no file. A replay of
anything already accepted changes nothing at all.
"""

import argparse
import errno
import fcntl
import hashlib
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from prep_iac import contract
from prep_iac.onhost import watchdog
from prep_iac.onhost.common import (
    estado_lock,
    estado_path,
    load_settings,
    read_json,
    write_json,
)
from prep_iac.onhost.jail import is_marker, observe, remove_entry, shown, upload_of

MANIFEST_MAX_BYTES = 32 * 1024 * 1024
CHUNK = 1024 * 1024
SYNC_THREADS = 8  # fsyncs in flight at once (sync_tree)


@dataclass(frozen=True)
class ActivatorConfig:
    """/etc/prep-activator/config.json, written by the activator component from the inventory."""
    jail: str = contract.JAIL_ROOT
    root: str = contract.PREP_ROOT
    state_dir: str = contract.ACTIVATOR_STATE_DIR
    allowed_signers: str = contract.ACTIVATOR_SIGNERS
    namespace: str = contract.SIGNATURE_NAMESPACE
    identity: str = contract.SIGNER_IDENTITY
    keep: int = 6  # activated cuts kept on disk
    max_bytes: int = 2048 * 1024 * 1024
    max_files: int = 50000
    period_s: int = contract.DEFAULT_PERIOD_S
    reserve_bytes: int = 64 * 1024 * 1024  # free space a cut must leave
    stale_s: int = 1800  # an upload without its marker this old is abandoned
    watchdog_config: str = contract.WATCHDOG_CONFIG  # "" or absent: no watchdog on this host
    # The electoral process this difusor publishes, and when the PREP opens (ISO-8601 with
    # offset): drill material is accepted only before then (issue 16).
    process: str = ""
    prep_opens: str = ""
    # Bytes the IEC account may hold in incoming/, as root measures them (issue 17).
    jail_budget_bytes: int = contract.jail_budget_bytes(2048 * 1024 * 1024)

    @property
    def incoming(self) -> str:
        return os.path.join(self.jail, contract.INCOMING)

    @property
    def jail_budget_entries(self) -> int:
        """Files and folders incoming/ may hold: two whole cuts and some."""
        return 2 * self.max_files + 1000


# What an accepted document did to the served tree (ultimo.json's `tipo`).
NEW_CUT = "corte"  # a new tree, now current
CORRECTION = "correccion"  # the served cut id with new content: rebuilt, now current
RENEWAL = "renovacion"  # the served content under a newer stamp: nothing rebuilt


@dataclass
class Activation:
    """A document that passed every check: the served cut's manifest, the stamp accepted,
    and what activating it did."""
    manifest: dict
    manifest_sha256: str  # of the signed manifest bytes the served tree was built from
    stamp: dict  # contract.STAMP_KEYS of the accepted document
    kind: str = NEW_CUT
    new_files: int = 0
    fresh_history: bool = False  # the first production material after drill material
    phases: dict = field(default_factory=dict)


LAPS = {}  # phase -> seconds of the cut being handled, reported in ultimo.json
_lap_start = [0.0]


def lap(phase):
    now = time.monotonic()
    LAPS[phase] = round(LAPS.get(phase, 0.0) + now - _lap_start[0], 4)
    _lap_start[0] = now


class Refused(Exception):
    """The cut is not activated; the message is the reason logged and reported to the IEC."""


def log(message):
    # Under systemd, stdout goes to the journal as SYSLOG_IDENTIFIER=prep-activator.
    print(message, flush=True)


def now_iso():
    return datetime.now(UTC).astimezone().isoformat(timespec="seconds")


# --- reading out of the jail, never following a link ---------------------------------------

def open_beneath(root_fd, relpath):
    """Open root/relpath for reading; every component must be a real directory or file."""
    parts = relpath.split("/")
    fds = []
    try:
        dir_fd = root_fd
        for part in parts[:-1]:
            dir_fd = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd)
            fds.append(dir_fd)
        return os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
    finally:
        for fd in fds:
            os.close(fd)


def read_small(directory, name, limit):
    """Read a small regular file from the jail (manifest, signature, marker)."""
    try:
        fd = os.open(os.path.join(directory, name), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise Refused(f"{name}: cannot open ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise Refused(f"{name} is not a regular file")
        data = f.read(limit + 1)
    if len(data) > limit:
        raise Refused(f"{name} is larger than {limit} bytes")
    return data


# --- signature and manifest ------------------------------------------------------------------

def verify_signature(cfg, manifest_bytes, sig_bytes):
    with tempfile.TemporaryDirectory(prefix="prep-activator-") as tmp:
        sig_path = os.path.join(tmp, "manifest.sig")
        with open(sig_path, "wb") as f:
            f.write(sig_bytes)
        proc = subprocess.run(
            ["ssh-keygen", "-Y", "verify", "-f", cfg.allowed_signers, "-I", cfg.identity,
             "-n", cfg.namespace, "-s", sig_path],
            input=manifest_bytes, capture_output=True, timeout=60, check=False)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).decode(errors="replace").strip().splitlines()
        raise Refused("bad signature: " + (detail[-1] if detail else f"rc {proc.returncode}"))


def parse_signed(cfg, data, cut_id):
    """The signed document: a manifest, or a heartbeat (is_heartbeat tells which)."""
    try:
        return contract.parse_signed(data, cut_id=cut_id, max_files=cfg.max_files,
                                     max_bytes=cfg.max_bytes)
    except contract.ManifestError as exc:
        raise Refused(str(exc)) from None


def _aware(text):
    try:
        value = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return value if value.tzinfo else None


def check_stamp(cfg, doc, estado, now):
    """Refuse what this difusor must not accept, by the document's signed stamp. Returns
    True when it starts a fresh history: the first production material after drill."""
    if not contract.PROCESS_ID.fullmatch(cfg.process or "") or _aware(cfg.prep_opens) is None:
        raise Refused("this difusor has no electoral process or PREP opening configured "
                      "(prep-iac deploy difusor writes them from the inventory's calendar)")
    mode, process = doc["modo"], doc["proceso"]
    if process != contract.process_for(cfg.process, mode):
        raise Refused(f"{mode} material of process {process!r}: this difusor publishes "
                      f"{contract.process_for(cfg.process, mode)!r}")
    served_mode = estado.get("modo") if estado.get("corte") else None
    if mode == contract.DRILL:
        if now >= _aware(cfg.prep_opens):
            raise Refused(f"drill material after the PREP opened ({cfg.prep_opens})")
        if served_mode == contract.PRODUCTION:
            raise Refused("drill material after production material")
    elif served_mode != contract.PRODUCTION or estado.get("proceso") != process:
        return True  # drill material (or none) before: its sequence does not count
    if estado.get("final") is True and not doc["final"]:
        raise Refused(f"the PREP concluded with the final cut {estado.get('corte')}: only "
                      "material signed final is accepted now")
    served_seq = estado.get("secuencia")
    if isinstance(served_seq, int) and doc["secuencia"] <= served_seq:
        raise Refused(f"not newer than what is served (secuencia {doc['secuencia']} <= "
                      f"{served_seq}): a replay changes nothing")
    return False


def stamp_of(doc):
    return {key: doc[key] for key in contract.STAMP_KEYS}


# --- the served state ------------------------------------------------------------------------

def cut_of_dir(folder):
    return folder.split("+", 1)[0]


class Served:
    """What `current` points at, and that cut's manifest (kept outside the web root)."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.cortes = os.path.join(cfg.root, os.path.basename(contract.CUTS_DIR))
        self.current = os.path.join(cfg.root, os.path.basename(contract.CURRENT_LINK))
        self.manifests = os.path.join(cfg.state_dir, "manifiestos")

    def current_dir(self):
        """The served tree's folder name: the cut id, or `<id>+<secuencia>` for a
        correction built while the cut id's first tree was being served."""
        try:
            target = os.readlink(self.current)
        except OSError:
            return None
        name = os.path.basename(target.rstrip("/"))
        return name if contract.is_cut_id(cut_of_dir(name)) else None

    def current_id(self):
        folder = self.current_dir()
        return cut_of_dir(folder) if folder else None

    def manifest(self, folder):
        return read_json(os.path.join(self.manifests, folder + ".json")) or None

    def reusable(self, folder):
        """sha256 -> (path in the served tree, size), for hard links to unchanged files."""
        manifest = self.manifest(folder) if folder else None
        index = {}
        if not manifest:
            return index
        base = os.path.join(self.cortes, folder)
        for entry in manifest.get("archivos", []):
            index.setdefault(entry["sha256"], (os.path.join(base, entry["ruta"]), entry["bytes"]))
        return index


# --- building the cut tree -------------------------------------------------------------------

def copy_hashing(src_fd, dst_path, size, path):
    """Copy the jail's file into the root-owned tree; the hash is of the bytes written."""
    st = os.fstat(src_fd)
    if not stat.S_ISREG(st.st_mode):
        raise Refused(f"{path!r} is not a regular file")
    if st.st_nlink != 1:
        raise Refused(f"{path!r} is a hard link")
    if st.st_size != size:
        raise Refused(f"{path!r} has {st.st_size} bytes, the manifest says {size}")
    digest = hashlib.sha256()
    written = 0
    out = os.open(dst_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        while True:
            chunk = os.read(src_fd, CHUNK)
            if not chunk:
                break
            written += len(chunk)
            if written > size:
                raise Refused(f"{path!r} grew while being copied")
            digest.update(chunk)
            view = memoryview(chunk)
            while view:
                view = view[os.write(out, view):]
    finally:
        os.close(out)
    if written != size:
        raise Refused(f"{path!r} has {written} bytes, the manifest says {size}")
    return digest.hexdigest()


def build_tree(cfg, manifest, upload_dir, staging, reusable):
    """Fill `staging` with the cut; returns the paths copied (new) and the folders made."""
    os.mkdir(staging, 0o755)
    made = {""}
    new = []
    try:
        root_fd = os.open(upload_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except FileNotFoundError:
        root_fd = None
    except OSError as exc:
        raise Refused(f"upload folder unusable ({exc.strerror})") from None
    try:
        for entry in manifest["archivos"]:
            path, size, digest = entry["ruta"], entry["bytes"], entry["sha256"]
            parent = os.path.dirname(path)
            if parent not in made:
                os.makedirs(os.path.join(staging, parent), mode=0o755, exist_ok=True)
                made.add(parent)
            dst = os.path.join(staging, path)
            old = reusable.get(digest)
            if old and old[1] == size and link_reused(old[0], dst):
                continue
            if root_fd is None:
                raise Refused(f"missing file {path!r}")
            try:
                src = open_beneath(root_fd, path)
            except FileNotFoundError:
                raise Refused(f"missing file {path!r}") from None
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise Refused(f"{path!r} is or goes through a symlink") from None
                raise Refused(f"{path!r}: cannot open ({exc.strerror})") from None
            try:
                got = copy_hashing(src, dst, size, path)
            finally:
                os.close(src)
            if got != digest:
                raise Refused(f"hash mismatch for {path!r}")
            new.append(path)
    finally:
        if root_fd is not None:
            os.close(root_fd)
    return new, made


def fsync_path(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_tree(staging, new_files, folders):
    """The cut's new files and its folders on disk, before anything points at them.

    Only what this cut wrote: the reused files were synced when their cut was activated,
    and the uploads in the jail are deleted afterwards, so flushing the whole filesystem
    (syncfs) would write them for nothing, and on a disk shared with others wait for their
    writes too. Several fsyncs in flight share the filesystem's journal commits."""
    files = [os.path.join(staging, p) for p in new_files]
    with ThreadPoolExecutor(SYNC_THREADS) as pool:
        list(pool.map(fsync_path, files))  # list(): re-raise the first error
    for folder in sorted(folders, key=len, reverse=True):  # entries before their parents
        fsync_path(os.path.join(staging, folder) if folder else staging)


def link_reused(old_path, dst):
    # old_path is in a cut this program built (root-owned, regular files only); link(2)
    # never follows a symlink anyway.
    try:
        os.link(old_path, dst)
        return True
    except OSError:
        return False  # gone or too many links: fall back to the uploaded copy


def check_space(cfg, manifest, reusable):
    needed = sum(e["bytes"] for e in manifest["archivos"]
                 if reusable.get(e["sha256"], (None, -1))[1] != e["bytes"])
    st = os.statvfs(os.path.join(cfg.root, os.path.basename(contract.CUTS_DIR)))
    free = st.f_bavail * st.f_frsize
    if needed + cfg.reserve_bytes > free:
        raise Refused(f"disk full: the cut needs {needed // 2**20} MiB (+ "
                      f"{cfg.reserve_bytes // 2**20} MiB reserve), {free // 2**20} MiB free")


# --- switching, estado, pruning --------------------------------------------------------------

def switch_current(cfg, cut_id):
    tmp = os.path.join(cfg.root, f".current.tmp-{os.getpid()}")
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(os.path.join(os.path.basename(contract.CUTS_DIR), cut_id), tmp)
    os.replace(tmp, os.path.join(cfg.root, os.path.basename(contract.CURRENT_LINK)))


def write_estado(cfg, activation, activated):
    """The served cut and the stamp just accepted; `estado` is the watchdog's to refine
    (a drill cut or a page before the opening), run right after."""
    manifest = activation.manifest
    estado = {"corte": manifest["corte"], "corte_fecha_hora": manifest["fecha_hora"],
              "activado": activated, "periodo_s": cfg.period_s,
              "estado": contract.CONCLUDED if activation.stamp["final"] else contract.PUBLISHING,
              "manifiesto_sha256": activation.manifest_sha256,
              "contenido_sha256": contract.content_sha256(manifest["archivos"]),
              **activation.stamp}
    with estado_lock(cfg.root):
        write_json(estado_path(cfg.root), estado)
    return estado


def publish_to_jail(cfg, files):
    """Copy results into the jail's read-only estado/ (root-owned, readable by the IEC)."""
    directory = os.path.join(cfg.jail, contract.JAIL_ESTADO)
    os.makedirs(directory, mode=0o755, exist_ok=True)
    for name, obj in files.items():
        write_json(os.path.join(directory, name), obj, compact="archivos" in obj)


def sync_jail_state(cfg):
    """The jail's estado.json and manifiesto.json as the difusor really is: the publisher
    computes its next delta from them, so a stale copy (the served tree lost or replaced
    behind our back) would have every push refused for files it never sent."""
    directory = os.path.join(cfg.jail, contract.JAIL_ESTADO)
    served = Served(cfg)
    folder = served.current_dir()
    record = served.manifest(folder) if folder else None
    estado = read_json(estado_path(cfg.root))
    if record is None or estado.get("corte") != record.get("corte"):
        estado = {}  # nothing verifiable is served: the publisher sends the whole cut
    for name, obj in ((contract.JAIL_ESTADO_FILE, estado),
                      (contract.JAIL_SERVED_MANIFEST, record if estado else None)):
        if obj:
            publish_to_jail(cfg, {name: obj})
        else:
            try:
                os.unlink(os.path.join(directory, name))
            except FileNotFoundError:
                pass


def prune(cfg, served, keep_id, keep=None):
    """Keep the newest `keep` trees (by activation order); never the one being served."""
    entries = []
    for name in os.listdir(served.cortes):
        path = os.path.join(served.cortes, name)
        if name.startswith(".tmp-"):
            continue
        try:
            entries.append((os.lstat(path).st_mtime, name))
        except FileNotFoundError:
            continue
    entries.sort(reverse=True)
    for _, name in entries[cfg.keep if keep is None else keep:]:
        if name == keep_id:
            continue
        shutil.rmtree(os.path.join(served.cortes, name), ignore_errors=True)
        try:
            os.unlink(os.path.join(served.manifests, name + ".json"))
        except FileNotFoundError:
            pass


def run_watchdog(cfg):
    """The watchdog's pass, here and now (a resident watchdog would come to it within its
    interval): the new estado is refined (a drill cut once the window is open) and a notice
    or not-open page goes. An unusable watchdog config is the watchdog's to report; the cut
    is served either way."""
    try:
        watchdog.refresh(cfg.watchdog_config)
    except (OSError, ValueError, TypeError) as exc:
        log(f"watchdog pass skipped ({cfg.watchdog_config}: {exc}); prep-watchdog.service "
            "makes its own")


def cleanup_leftovers(served):
    """What an interrupted run left: half-built trees and temporary symlinks."""
    for name in os.listdir(served.cortes):
        if name.startswith(".tmp-"):
            shutil.rmtree(os.path.join(served.cortes, name), ignore_errors=True)
    root = os.path.dirname(served.cortes)
    for name in os.listdir(root):
        if name.startswith(".current.tmp-"):
            os.unlink(os.path.join(root, name))


def remove_upload(cfg, cut_id):
    for name in (contract.manifest_name(cut_id), contract.signature_name(cut_id),
                 contract.marker_name(cut_id), cut_id):
        remove_entry(cfg, name)


# --- one cut ---------------------------------------------------------------------------------

def activate(cfg, cut_id, now=None) -> Activation:
    """Accept incoming/<cut_id> (a cut or a heartbeat), or raise Refused with the reason."""
    incoming = cfg.incoming
    served = Served(cfg)
    os.makedirs(served.cortes, mode=0o755, exist_ok=True)
    os.makedirs(served.manifests, mode=0o700, exist_ok=True)
    cleanup_leftovers(served)

    signed_bytes = read_small(incoming, contract.manifest_name(cut_id), MANIFEST_MAX_BYTES)
    if signed_bytes is None:
        raise Refused("no manifest")
    sig_bytes = read_small(incoming, contract.signature_name(cut_id), 64 * 1024)
    if sig_bytes is None:
        raise Refused("unsigned manifest (no .sig)")
    lap("read")
    verify_signature(cfg, signed_bytes, sig_bytes)
    lap("signature")
    doc, is_heartbeat = parse_signed(cfg, signed_bytes, cut_id)
    estado = read_json(estado_path(cfg.root))
    fresh_history = check_stamp(cfg, doc, estado, now or datetime.now(UTC))
    lap("manifest")

    current = served.current_dir()
    serving_it = current is not None and cut_of_dir(current) == cut_id
    record = served.manifest(current) if serving_it and not fresh_history else None
    signed_sha = hashlib.sha256(signed_bytes).hexdigest()
    if is_heartbeat or (record and content_of(record) == content_of(doc)):
        return renewal(current, record, doc, estado, signed_sha)
    manifest = doc
    result = Activation(manifest, signed_sha, stamp_of(doc),
                        CORRECTION if serving_it else NEW_CUT, fresh_history=fresh_history)
    if current and not fresh_history:
        old = served.manifest(current)
        if old and datetime.fromisoformat(old["fecha_hora"]) > \
                datetime.fromisoformat(manifest["fecha_hora"]):
            raise Refused(f"older than the served cut {cut_of_dir(current)} "
                          f"({old['fecha_hora']})")

    reusable = served.reusable(current)
    check_space(cfg, manifest, reusable)
    lap("space")
    # A correction is built beside the tree being served, never over it.
    folder = f"{cut_id}+{doc['secuencia']}" if serving_it else cut_id
    staging = os.path.join(served.cortes, f".tmp-{folder}")
    try:
        new, folders = build_tree(cfg, manifest, os.path.join(incoming, cut_id), staging,
                                  reusable)
        lap("tree")
        sync_tree(staging, new, folders)  # on disk before anything points at it
        lap("sync")
        final = os.path.join(served.cortes, folder)
        if os.path.lexists(final):
            shutil.rmtree(final)  # an earlier, never-served build of the same cut
        os.rename(staging, final)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise Refused("disk full while building the cut") from None
        raise Refused(f"cannot build the cut: {exc}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    write_json(os.path.join(served.manifests, folder + ".json"), manifest, 0o600, compact=True)
    switch_current(cfg, folder)
    lap("switch")
    result.new_files = len(new)
    return result


def content_of(doc):
    """The content a manifest lists, or the one a heartbeat names."""
    return doc.get("contenido_sha256") or contract.content_sha256(doc["archivos"])


def renewal(current, record, doc, estado, signed_sha) -> Activation:
    """A heartbeat, or the served cut's manifest signed again: the served content under a
    newer stamp. A heartbeat must name exactly what is served (`record`: the served tree's
    manifest, None when the document is not about the served cut or starts a new history)."""
    served_content = content_of(record) if record else None
    if served_content != content_of(doc):
        raise Refused(f"heartbeat for {doc['corte']} (content {content_of(doc)[:12]}), but "
                      f"this difusor serves {cut_of_dir(current) if current else 'no cut'}"
                      + (f" (content {served_content[:12]})" if served_content else "")
                      + ": send the cut")
    # The served tree's manifest as estado.json names it; a re-sent manifest names itself
    # when estado.json lags the tree (a crash between the switch and estado.json).
    same = estado.get("corte") == record["corte"] and estado.get("manifiesto_sha256")
    sha = estado["manifiesto_sha256"] if same else ("" if "contenido_sha256" in doc
                                                     else signed_sha)
    return Activation(record, sha, stamp_of(doc), RENEWAL)


def refuse(cfg, cut_id, request, reason):
    """Log and answer a refusal, and clear the cut's upload away."""
    result = {"corte": cut_id, "solicitud": request, "hora": now_iso(),
              "resultado": contract.REFUSED, "motivo": reason}
    log(contract.refused_message(cut_id, reason))
    sync_jail_state(cfg)
    publish_to_jail(cfg, {contract.JAIL_LAST_RESULT: result})
    remove_upload(cfg, cut_id)


def handle(cfg, cut_id, request):
    start = time.monotonic()
    LAPS.clear()
    _lap_start[0] = start
    result = {"corte": cut_id, "solicitud": request, "hora": None}
    try:
        activation = activate(cfg, cut_id)
    except Exception as exc:  # noqa: BLE001 - Refused or not, the cut is refused
        # Anything unexpected refuses too: the marker must go, or the path unit would loop.
        reason = str(exc) if isinstance(exc, Refused) else f"internal error: {exc!r}"
        refuse(cfg, cut_id, request, reason)
        return False
    activated = now_iso()
    served = Served(cfg)
    estado = write_estado(cfg, activation, activated)
    lap("estado")
    files = len(activation.manifest["archivos"])
    elapsed = time.monotonic() - start
    publish_to_jail(cfg, {contract.JAIL_ESTADO_FILE: estado,
                          contract.JAIL_SERVED_MANIFEST: activation.manifest})
    lap("jail")
    # Before the IEC hears "activated": a notice or not-open page is off by then, so the
    # answer means what it says (the cut is what visitors get), not a moment later.
    run_watchdog(cfg)
    lap("watchdog")
    activation.phases = dict(LAPS)
    result.update(resultado=contract.ACTIVATED, motivo=None, hora=activated, archivos=files,
                  nuevos=activation.new_files, segundos=round(elapsed, 3),
                  fases=activation.phases, tipo=activation.kind,
                  secuencia=activation.stamp["secuencia"], final=activation.stamp["final"])
    if activation.kind == RENEWAL:
        log(contract.renewed_message(cut_id, activation.stamp["secuencia"],
                                     activation.stamp["final"]))
    else:
        log(contract.activated_message(cut_id, files, activation.new_files, elapsed))
    publish_to_jail(cfg, {contract.JAIL_LAST_RESULT: result})  # last: the publisher waits for it
    remove_upload(cfg, cut_id)
    # The first production cut starts a fresh history: no drill tree stays on disk.
    prune(cfg, served, served.current_dir(), keep=1 if activation.fresh_history else None)
    return True


def request_of(cfg, cut_id):
    """The nonce in a cut's marker (None when it has none or is not a small regular file)."""
    try:
        data = read_small(cfg.incoming, contract.marker_name(cut_id), 256)
    except Refused:
        return None
    return data.decode(errors="replace").strip() if data else None


def take_markers(cfg, entries):
    """The cut ids to activate, in the order root first saw their markers (then by name);
    a marker whose name is no cut id is removed, one that is not a regular file refuses its
    cut. Returns (cut ids, whether every marker was usable)."""
    cuts, ok = [], True
    for e in sorted(entries, key=lambda e: (e.since, e.name)):
        if not is_marker(e.name):
            continue
        cut_id = e.name[:-len(contract.MARKER_SUFFIX)]
        if not contract.is_cut_id(cut_id):
            log(contract.refused_message(shown(e.name), "invalid cut id"))
            remove_entry(cfg, e.name)
            ok = False
        elif e.kind != "file":
            refuse(cfg, cut_id, None, f"marker {e.name} is not a regular file ({e.kind})")
            ok = False
        else:
            cuts.append(cut_id)
    return cuts, ok


def drop_incomplete(cfg, base, members, reason):
    """Remove an upload that has no marker, saying so (in ultimo.json when it names a cut)."""
    if contract.is_cut_id(base):
        log(contract.refused_message(base, reason))
        publish_to_jail(cfg, {contract.JAIL_LAST_RESULT: {
            "corte": base, "resultado": contract.REFUSED, "solicitud": None,
            "motivo": reason, "hora": now_iso()}})
    else:
        for m in members:
            log(contract.refused_message(shown(m.name), reason))
    for m in members:
        remove_entry(cfg, m.name)


def enforce_budget(cfg, entries, cuts):
    """incoming/ back within jail_budget_bytes and jail_budget_entries, as root measured it:
    first what cannot be measured whole, then the uploads without a marker (one larger than
    the whole budget first, then the oldest by root's clock), then complete ones, whose cut
    is refused. Returns the cut ids still to activate."""
    budget, limit = cfg.jail_budget_bytes, cfg.jail_budget_entries
    total = sum(e.bytes for e in entries)
    count = sum(e.entries for e in entries)
    if total <= budget and count <= limit and all(e.measured for e in entries):
        return cuts
    groups = {}
    for e in entries:
        groups.setdefault(upload_of(e.name), []).append(e)
    remaining = list(cuts)

    def order(item):
        base, members = item
        return (all(m.measured for m in members), base in cuts,
                sum(m.bytes for m in members) <= budget, max(m.since for m in members), base)

    for base, members in sorted(groups.items(), key=order):
        whole = all(m.measured for m in members)
        if whole and total <= budget and count <= limit:
            break
        if whole:
            reason = (f"{contract.JAIL_BUDGET_REASON} ({total} bytes and {count} entries in "
                      f"{contract.INCOMING}/, at most {budget} bytes and {limit} entries)")
        else:
            bad = next(m for m in members if not m.measured)
            reason = (f"{contract.JAIL_BUDGET_REASON}: {shown(bad.name)} cannot be measured "
                      f"whole (more than {limit} entries, or too deep)")
        if base in remaining:
            refuse(cfg, base, request_of(cfg, base), reason + ": cut refused")
            remaining.remove(base)
        else:
            drop_incomplete(cfg, base, members, reason + ": incomplete upload dropped")
        total -= sum(m.bytes for m in members)
        count -= sum(m.entries for m in members)
    return remaining


def sweep(cfg, now=None):
    """Drop what sat in incoming/ unchanged for stale_s without its upload being complete,
    by root's clock: an age counts from when this program first saw the entry as it is."""
    now = now if now is not None else time.time()
    entries = observe(cfg, now)
    marked = {upload_of(e.name) for e in entries
              if is_marker(e.name) and e.kind == "file" and contract.is_cut_id(upload_of(e.name))}
    for e in entries:
        base = upload_of(e.name)
        if base in marked:
            continue  # complete: the activator's, not the sweep's
        age = now - e.since
        if age < cfg.stale_s:
            continue
        if contract.is_cut_id(base) and e.name == base:
            reason = f"incomplete upload (no {contract.MARKER_SUFFIX} marker after {int(age)} s)"
            log(contract.refused_message(base, reason))
            publish_to_jail(cfg, {contract.JAIL_LAST_RESULT: {
                "corte": base, "resultado": contract.REFUSED, "solicitud": None,
                "motivo": "incomplete upload", "hora": now_iso()}})
        elif not contract.is_cut_id(base):
            log(contract.refused_message(shown(e.name), f"abandoned entry ({int(age)} s)"))
        remove_entry(cfg, e.name)


def run(cfg, do_sweep=False, now=None):
    """Every complete upload in incoming/, whatever else is there: no entry the uploader can
    make (folder, link, name, size, time) stops the others from being handled."""
    lock_path = os.path.join(cfg.state_dir, "activator.lock")
    os.makedirs(cfg.state_dir, mode=0o700, exist_ok=True)
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one activation at a time
        now = time.time() if now is None else now
        entries = observe(cfg, now)
        cuts, ok = take_markers(cfg, entries)
        entries = [e for e in entries if os.path.lexists(os.path.join(cfg.incoming, e.name))]
        kept = enforce_budget(cfg, entries, cuts)
        ok = ok and kept == cuts
        for cut_id in kept:
            request = request_of(cfg, cut_id)
            try:
                ok = handle(cfg, cut_id, request) and ok
            except Exception as exc:  # noqa: BLE001 - the next cuts are still handled
                log(contract.refused_message(cut_id, f"internal error: {exc!r}"))
                remove_upload(cfg, cut_id)
                ok = False
        if do_sweep:
            sweep(cfg, now)
    return ok


def main(argv=None):
    parser = argparse.ArgumentParser(prog="prep-activator", description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=contract.ACTIVATOR_CONFIG)
    parser.add_argument("--sweep", action="store_true",
                        help="also drop abandoned uploads older than stale_s")
    args = parser.parse_args(argv)
    cfg = load_settings(ActivatorConfig, args.config)
    run(cfg, args.sweep)
    return 0  # refusals are results, not failures of the service


if __name__ == "__main__":
    sys.exit(main())
