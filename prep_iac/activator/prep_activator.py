#!/usr/bin/python3
"""prep-activator: turns a signed cut uploaded into the IEC's jail into the served cut.

Installed on every difusor by prep-iac (component `activator`); standard library and
`ssh-keygen` only, so a bare Debian runs it. Run as root by prep-activator.service when a
`incoming/<cut-id>.listo` marker appears (the publisher writes it after the files, the
manifest and its signature), and with --sweep by a timer to drop abandoned uploads.

One cut, in order; anything wrong refuses the cut and leaves what is served untouched:
  1. the manifest's signature (`ssh-keygen -Y verify`, our namespace, the IEC's signers);
  2. the manifest: cut id, paths (relative, no `..`), size and file-count limits;
  3. room on disk for the new files;
  4. the cut tree, built in cortes/.tmp-<id>: unchanged files are hard links to the served
     cut, new ones are *copied* out of the jail while hashing the copy (the IEC account
     cannot change a file after it was checked), opened without following any symlink;
  5. rename into cortes/<id>, then `current` switched by symlink + rename (atomic);
  6. estado.json under its lock, the result copied to the jail's estado/, old cuts pruned.
A crash anywhere leaves `current` on the old or the new cut; the next run removes leftovers.
"""

import argparse
import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

FORMAT = "prep-iac-manifiesto/1"
CUT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
MANIFEST_MAX_BYTES = 32 * 1024 * 1024
CHUNK = 1024 * 1024
SYNC_THREADS = 8  # fsyncs in flight at once (sync_tree)

DEFAULTS = {
    "jail": "/srv/sftp/iec",
    "root": "/srv/prep",
    "state_dir": "/var/lib/prep-activator",
    "allowed_signers": "/etc/prep-activator/allowed_signers",
    "namespace": "prep-iac-corte@iec",
    "identity": "iec",
    "keep": 6,
    "max_bytes": 2048 * 1024 * 1024,
    "max_files": 50000,
    "period_s": 600,
    "reserve_bytes": 64 * 1024 * 1024,
    "stale_s": 1800,
    "watchdog_unit": "prep-watchdog.service",
}


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


def load_config(path):
    cfg = dict(DEFAULTS)
    if path and os.path.exists(path):
        with open(path) as f:
            cfg.update(json.load(f))
    return cfg


# --- files written atomically ---------------------------------------------------------------

def write_atomic(path, data, mode=0o644):
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json(path, obj, mode=0o644):
    # Manifests run to thousands of entries: compact, they write and read several times faster.
    big = isinstance(obj, dict) and "archivos" in obj
    text = json.dumps(obj, ensure_ascii=False, **({"separators": (",", ":")} if big
                                                   else {"indent": 1}))
    write_atomic(path, (text + "\n").encode(), mode)


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
            ["ssh-keygen", "-Y", "verify", "-f", cfg["allowed_signers"], "-I", cfg["identity"],
             "-n", cfg["namespace"], "-s", sig_path],
            input=manifest_bytes, capture_output=True, timeout=60, check=False)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).decode(errors="replace").strip().splitlines()
        raise Refused("bad signature: " + (detail[-1] if detail else f"rc {proc.returncode}"))


def check_path(path):
    if not isinstance(path, str) or not path:
        raise Refused(f"invalid path {path!r}")
    if path.startswith("/"):
        raise Refused(f"absolute path {path!r}")
    if "\\" in path or "\x00" in path or len(path.encode()) > 1024:
        raise Refused(f"invalid path {path!r}")
    for part in path.split("/"):
        if part in ("", ".", ".."):
            raise Refused(f"path {path!r} leaves its folder or is not normal")
        if len(part.encode()) > 255:
            raise Refused(f"path component too long in {path!r}")


def parse_manifest(cfg, data, cut_id):
    try:
        manifest = json.loads(data)
    except ValueError as exc:
        raise Refused(f"manifest is not JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("formato") != FORMAT:
        raise Refused(f"manifest format is not {FORMAT}")
    if manifest.get("corte") != cut_id:
        raise Refused(f"manifest is for cut {manifest.get('corte')!r}, not {cut_id!r}")
    try:
        datetime.fromisoformat(manifest["fecha_hora"])
    except (KeyError, TypeError, ValueError):
        raise Refused("manifest has no valid fecha_hora") from None
    files = manifest.get("archivos")
    if not isinstance(files, list) or not files:
        raise Refused("manifest lists no files")
    if len(files) > cfg["max_files"]:
        raise Refused(f"too many files: {len(files)} > {cfg['max_files']}")
    total, seen, dirs = 0, set(), set()
    for entry in files:
        if not isinstance(entry, dict):
            raise Refused("manifest entry is not an object")
        path, size, digest = entry.get("ruta"), entry.get("bytes"), entry.get("sha256")
        check_path(path)
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise Refused(f"invalid size for {path!r}")
        if not isinstance(digest, str) or not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise Refused(f"invalid sha256 for {path!r}")
        if path in seen:
            raise Refused(f"{path!r} is listed twice")
        seen.add(path)
        parts = path.split("/")
        dirs.update("/".join(parts[:i]) for i in range(1, len(parts)))
        total += size
    clash = seen & dirs
    if clash:
        raise Refused(f"{min(clash)!r} is both a file and a folder")
    if total > cfg["max_bytes"]:
        raise Refused(f"cut too large: {total} bytes > {cfg['max_bytes']}")
    manifest["_total"] = total
    return manifest


# --- the served state ------------------------------------------------------------------------

class Served:
    """What `current` points at, and that cut's manifest (kept outside the web root)."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.cortes = os.path.join(cfg["root"], "cortes")
        self.current = os.path.join(cfg["root"], "current")
        self.manifests = os.path.join(cfg["state_dir"], "manifiestos")

    def current_id(self):
        try:
            target = os.readlink(self.current)
        except OSError:
            return None
        name = os.path.basename(target.rstrip("/"))
        return name if CUT_ID.match(name) else None

    def manifest(self, cut_id):
        try:
            with open(os.path.join(self.manifests, cut_id + ".json"), "rb") as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def reusable(self, cut_id):
        """sha256 -> (path in the served cut, size), for hard links to unchanged files."""
        manifest = self.manifest(cut_id) if cut_id else None
        index = {}
        if not manifest:
            return index
        base = os.path.join(self.cortes, cut_id)
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
    st = os.statvfs(os.path.join(cfg["root"], "cortes"))
    free = st.f_bavail * st.f_frsize
    if needed + cfg["reserve_bytes"] > free:
        raise Refused(f"disk full: the cut needs {needed // 2**20} MiB (+ "
                      f"{cfg['reserve_bytes'] // 2**20} MiB reserve), {free // 2**20} MiB free")


# --- switching, estado, pruning --------------------------------------------------------------

def switch_current(cfg, cut_id):
    tmp = os.path.join(cfg["root"], f".current.tmp-{os.getpid()}")
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(os.path.join("cortes", cut_id), tmp)
    os.replace(tmp, os.path.join(cfg["root"], "current"))


def write_estado(cfg, manifest, activated):
    estado = {"corte": manifest["corte"], "corte_fecha_hora": manifest["fecha_hora"],
              "activado": activated, "periodo_s": cfg["period_s"], "estado": "publicando"}
    if manifest.get("manifiesto_sha256"):
        estado["manifiesto_sha256"] = manifest["manifiesto_sha256"]
    lock_path = os.path.join(cfg["root"], ".estado.lock")
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        write_json(os.path.join(cfg["root"], "estado.json"), estado)
    return estado


def publish_to_jail(cfg, files):
    """Copy results into the jail's read-only estado/ (root-owned, readable by the IEC)."""
    directory = os.path.join(cfg["jail"], "estado")
    os.makedirs(directory, mode=0o755, exist_ok=True)
    for name, obj in files.items():
        write_json(os.path.join(directory, name), obj)


def copy_estado_to_jail(cfg):
    try:
        with open(os.path.join(cfg["root"], "estado.json"), "rb") as f:
            estado = json.load(f)
    except (OSError, ValueError):
        return
    publish_to_jail(cfg, {"estado.json": estado})


def prune(cfg, served, keep_id):
    """Keep the newest `keep` cuts (by activation order); never the one being served."""
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
    for _, name in entries[cfg["keep"]:]:
        if name == keep_id:
            continue
        shutil.rmtree(os.path.join(served.cortes, name), ignore_errors=True)
        try:
            os.unlink(os.path.join(served.manifests, name + ".json"))
        except FileNotFoundError:
            pass


def start_watchdog(cfg):
    unit = cfg["watchdog_unit"]
    if not unit or not shutil.which("systemctl"):
        return
    probe = subprocess.run(["systemctl", "cat", unit], capture_output=True, check=False)
    if probe.returncode == 0:
        subprocess.run(["systemctl", "start", "--no-block", unit], capture_output=True,
                       check=False)


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
    incoming = os.path.join(cfg["jail"], "incoming")
    for name in (cut_id + ".manifiesto.json", cut_id + ".manifiesto.json.sig", cut_id + ".listo"):
        try:
            os.unlink(os.path.join(incoming, name))
        except FileNotFoundError:
            pass
        except IsADirectoryError:
            shutil.rmtree(os.path.join(incoming, name), ignore_errors=True)
    path = os.path.join(incoming, cut_id)
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        os.unlink(path)


# --- one cut ---------------------------------------------------------------------------------

def activate(cfg, cut_id):
    """Activate incoming/<cut_id>; returns (manifest, n_new) or raises Refused."""
    incoming = os.path.join(cfg["jail"], "incoming")
    served = Served(cfg)
    os.makedirs(served.cortes, mode=0o755, exist_ok=True)
    os.makedirs(served.manifests, mode=0o700, exist_ok=True)
    cleanup_leftovers(served)

    manifest_bytes = read_small(incoming, cut_id + ".manifiesto.json", MANIFEST_MAX_BYTES)
    if manifest_bytes is None:
        raise Refused("no manifest")
    sig_bytes = read_small(incoming, cut_id + ".manifiesto.json.sig", 64 * 1024)
    if sig_bytes is None:
        raise Refused("unsigned manifest (no .sig)")
    lap("read")
    verify_signature(cfg, manifest_bytes, sig_bytes)
    lap("signature")
    manifest = parse_manifest(cfg, manifest_bytes, cut_id)
    # Named in estado.json: a publisher holding the same signed bytes computes the next
    # delta from its own copy instead of downloading the served manifest.
    manifest["manifiesto_sha256"] = hashlib.sha256(manifest_bytes).hexdigest()
    lap("manifest")

    current = served.current_id()
    if current == cut_id:  # confirmed as served: its record, not this upload, describes it
        return served.manifest(cut_id) or manifest, 0
    if current:
        old = served.manifest(current)
        if old and datetime.fromisoformat(old["fecha_hora"]) > \
                datetime.fromisoformat(manifest["fecha_hora"]):
            raise Refused(f"older than the served cut {current} ({old['fecha_hora']})")

    reusable = served.reusable(current)
    check_space(cfg, manifest, reusable)
    lap("space")
    staging = os.path.join(served.cortes, f".tmp-{cut_id}")
    try:
        new, folders = build_tree(cfg, manifest, os.path.join(incoming, cut_id), staging,
                                  reusable)
        lap("tree")
        sync_tree(staging, new, folders)  # on disk before anything points at it
        lap("sync")
        final = os.path.join(served.cortes, cut_id)
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
    stored = {k: v for k, v in manifest.items() if not k.startswith("_")}
    write_json(os.path.join(served.manifests, cut_id + ".json"), stored, 0o600)
    switch_current(cfg, cut_id)
    lap("switch")
    return manifest, len(new)


def handle(cfg, cut_id, request):
    start = time.monotonic()
    LAPS.clear()
    _lap_start[0] = start
    result = {"corte": cut_id, "solicitud": request, "hora": None}
    try:
        manifest, new = activate(cfg, cut_id)
    except Exception as exc:  # noqa: BLE001 - Refused or not, the cut is refused
        # Anything unexpected refuses too: the marker must go, or the path unit would loop.
        reason = str(exc) if isinstance(exc, Refused) else f"internal error: {exc!r}"
        result.update(resultado="rechazado", motivo=reason, hora=now_iso())
        log(f"refused {cut_id}: {reason}")
        copy_estado_to_jail(cfg)
        publish_to_jail(cfg, {"ultimo.json": result})
        remove_upload(cfg, cut_id)
        return False
    activated = now_iso()
    served = Served(cfg)
    estado = write_estado(cfg, manifest, activated)
    lap("estado")
    files = len(manifest["archivos"])
    elapsed = time.monotonic() - start
    stored = {k: v for k, v in manifest.items() if not k.startswith("_")}
    publish_to_jail(cfg, {"estado.json": estado, "manifiesto.json": stored})
    lap("jail")
    result.update(resultado="activado", motivo=None, hora=activated, archivos=files, nuevos=new,
                  segundos=round(elapsed, 3), fases=dict(LAPS))
    log(f"activated {cut_id} ({files} files, {new} new, {elapsed:.2f} s)")
    publish_to_jail(cfg, {"ultimo.json": result})  # last: the publisher waits for it
    start_watchdog(cfg)
    remove_upload(cfg, cut_id)
    prune(cfg, served, cut_id)
    return True


def pending(cfg):
    """Cut ids whose upload is complete (their `.listo` marker is there), oldest first."""
    incoming = os.path.join(cfg["jail"], "incoming")
    markers = []
    for name in os.listdir(incoming):
        # A dot name is a marker still being written: the push renames it when complete.
        if name.endswith(".listo") and not name.startswith("."):
            try:
                markers.append((os.lstat(os.path.join(incoming, name)).st_mtime, name[:-6]))
            except FileNotFoundError:
                continue
    return [cut for _, cut in sorted(markers)]


def sweep(cfg, now=None):
    """Drop uploads that never completed (no marker) once older than stale_s, saying so."""
    incoming = os.path.join(cfg["jail"], "incoming")
    now = now if now is not None else time.time()
    marked = set(pending(cfg))
    for name in os.listdir(incoming):
        base = name.split(".manifiesto.json")[0]
        if base in marked:
            continue
        path = os.path.join(incoming, name)
        try:
            age = now - os.lstat(path).st_mtime
        except FileNotFoundError:
            continue
        if age < cfg["stale_s"]:
            continue
        if CUT_ID.match(base) and name == base:
            log(f"refused {base}: incomplete upload (no .listo marker after {int(age)} s)")
            publish_to_jail(cfg, {"ultimo.json": {
                "corte": base, "resultado": "rechazado", "solicitud": None,
                "motivo": "incomplete upload", "hora": now_iso()}})
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.unlink(path)


def run(cfg, do_sweep=False):
    lock_path = os.path.join(cfg["state_dir"], "activator.lock")
    os.makedirs(cfg["state_dir"], mode=0o700, exist_ok=True)
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one activation at a time
        ok = True
        incoming = os.path.join(cfg["jail"], "incoming")
        for cut_id in pending(cfg):
            if not CUT_ID.match(cut_id):
                log(f"refused {cut_id!r}: invalid cut id")
                os.unlink(os.path.join(incoming, cut_id + ".listo"))
                ok = False
                continue
            try:
                request = read_small(incoming, cut_id + ".listo", 256)
            except Refused:
                request = None
            request = request.decode(errors="replace").strip() if request else None
            ok = handle(cfg, cut_id, request) and ok
        if do_sweep:
            sweep(cfg)
    return ok


def main(argv=None):
    parser = argparse.ArgumentParser(prog="prep-activator", description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="/etc/prep-activator/config.json")
    parser.add_argument("--sweep", action="store_true",
                        help="also drop abandoned uploads older than stale_s")
    args = parser.parse_args(argv)
    cfg = load_config(args.config)
    run(cfg, args.sweep)
    return 0  # refusals are results, not failures of the service


if __name__ == "__main__":
    sys.exit(main())
