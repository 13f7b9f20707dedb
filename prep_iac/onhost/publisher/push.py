"""Push one signed cut to one difusor's jail, then wait for its activator's verdict.

Order matters: the files the difusor lacks, the manifest, its signature, and last the
`<cut>.listo` marker (written under a dot name and renamed), which starts the activator.
Paths are absolute in the chroot (the session starts in /incoming).
"""

import json
import posixpath
import queue
import secrets
import threading
import time
from dataclasses import dataclass, field

import paramiko

from prep_iac.contract import (
    ACTIVATED,
    INCOMING,
    JAIL_ESTADO,
    JAIL_ESTADO_FILE,
    JAIL_LAST_RESULT,
    JAIL_SERVED_MANIFEST,
    jail_path,
    manifest_name,
    marker_name,
    marker_tmp_name,
    signature_name,
)
from prep_iac.onhost.publisher import delta, pipelined
from prep_iac.onhost.publisher.connect import PushError, connect, sftp
from prep_iac.onhost.publisher.manifest import Manifest
from prep_iac.onhost.publisher.registry import DifusorEntry


@dataclass(frozen=True)
class Signed:
    manifest: Manifest
    data: bytes  # the exact manifest bytes that were signed
    signature: bytes
    folder: object  # pathlib.Path of the cut's files
    heartbeat: bytes = b""  # the same stamp naming the cut's content, for a difusor serving it
    heartbeat_signature: bytes = b""


@dataclass
class Result:
    difusor: str
    cut: str
    result: str  # activated | refused | failed
    reason: str | None = None
    sent_bytes: int = 0
    sent_files: int = 0
    seconds: float = 0.0
    phases: dict = field(default_factory=dict)  # connect, delta, upload, manifest, verdict (s)
    delta_base: str | None = None  # whose copy of the served manifest: publisher | difusor


READ_LIMIT = 64 * 1024 * 1024
ESTADO = jail_path(JAIL_ESTADO, JAIL_ESTADO_FILE)
SERVED_MANIFEST = jail_path(JAIL_ESTADO, JAIL_SERVED_MANIFEST)
LAST_RESULT = jail_path(JAIL_ESTADO, JAIL_LAST_RESULT)
READ_HEAD = 32 * 1024  # one read request; estado/ultimo.json fits, the manifest does not


def read_json(client: paramiko.SFTPClient, path: str):
    """The JSON file, or None. A large one (the served manifest) is read with all its reads
    in flight at once (prefetch), not one round trip per 32 KiB."""
    try:
        with client.open(path, "rb") as f:
            data = f.read(READ_HEAD)
            if len(data) == READ_HEAD:  # more to come
                size = f.stat().st_size
                if size > READ_LIMIT:
                    return None
                f.prefetch(size)
                data += f.read(READ_LIMIT - len(data))
            return json.loads(data)
    except (OSError, ValueError):
        return None


def mkdirs(client, dirs):
    for d in sorted(dirs, key=lambda p: p.count("/")):
        try:
            client.mkdir(d)
        except OSError:
            pass  # exists (from an earlier, cut-off push): files in it are overwritten


def upload_many(transport, entries, folder, base, sessions, timeout, counter, stop,
                client=None):
    """The files over up to `sessions` SFTP channels of one connection, each a pipeline of
    requests (pipelined.py): small files are latency-bound, not bandwidth-bound. Channels
    take batches of files from a common queue and go on to the next without a pause.
    `client`, the push's own channel, is one of them (it stays open)."""
    work = queue.Queue()
    for i in range(0, len(entries), pipelined.BATCH):
        work.put(entries[i:i + pipelined.BATCH])
    errors = []

    def files():
        while not stop.is_set():
            try:
                batch = work.get_nowait()
            except queue.Empty:
                return
            for e in batch:
                yield folder / e.path, posixpath.join(base, e.path)

    def sent(n):
        with counter["lock"]:
            counter["bytes"] += n
            counter["files"] += 1

    def worker(own=None):
        try:
            channel = own or sftp(transport, timeout)
        except Exception as exc:  # noqa: BLE001 - reported as the push's reason
            errors.append(exc)
            return
        try:
            pipelined.Uploader(channel).upload(files(), on_file=sent)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
            stop.set()
        finally:
            if own is None:
                channel.close()

    n = max(1, min(sessions, work.qsize()))
    threads = [threading.Thread(target=worker, args=(client if i == 0 else None,), daemon=True)
               for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise PushError(f"upload failed: {errors[0] or type(errors[0]).__name__}")


def delta_base(client, known: dict[str, delta.Have]) -> tuple[dict, delta.Have, str]:
    """(the difusor's estado, what its served cut holds, where that came from): the
    publisher's own copy when the difusor names content it holds, else the difusor's."""
    estado = read_json(client, ESTADO) or {}
    have = known.get(estado.get("contenido_sha256"))
    if have is not None:
        return estado, have, "publisher"
    served = read_json(client, SERVED_MANIFEST)
    return estado, delta.have_of_served(served), "difusor"


def send_signed(client, cut_id: str, data: bytes, signature: bytes) -> tuple[str, int]:
    """A signed document, its signature and the marker under a dot name, in one pipeline;
    the rename, once all three are confirmed, starts the activator. Returns (the nonce,
    the bytes sent)."""
    nonce = secrets.token_hex(8)
    tmp = jail_path(INCOMING, marker_tmp_name(cut_id))
    sent = pipelined.Uploader(client).upload([
        (data, jail_path(INCOMING, manifest_name(cut_id))),
        (signature, jail_path(INCOMING, signature_name(cut_id))),
        (nonce.encode() + b"\n", tmp)])
    client.posix_rename(tmp, jail_path(INCOMING, marker_name(cut_id)))
    return nonce, sent


def push_one(difusor: DifusorEntry, signed: Signed, *, user: str, key, sessions: int = 4,
             timeout: float = 10.0, activation_timeout: float = 60.0,
             connect_timeout: float | None = None, hooks=None,
             known: dict[str, delta.Have] | None = None) -> Result:
    """`known`: delta bases of cuts this publisher signed before (run.known_from_cache)."""
    start = time.monotonic()
    m = signed.manifest
    res = Result(difusor.name, m.cut_id, "failed")
    counter = {"bytes": 0, "files": 0, "lock": threading.Lock()}
    transport = None
    mark = [start]

    def lap(phase):
        now = time.monotonic()
        res.phases[phase] = round(now - mark[0], 3)
        mark[0] = now
    try:
        transport = connect(difusor, user, key, timeout, connect_timeout)
        client = sftp(transport, timeout)
        lap("connect")
        estado, have, res.delta_base = delta_base(client, known or {})
        last = read_json(client, LAST_RESULT) or {}
        lap("delta")
        if signed.heartbeat and estado.get("corte") == m.cut_id and \
                estado.get("contenido_sha256") == m.content_sha256:
            # It serves this very content: a heartbeat renews it (a few hundred bytes).
            nonce, sent = send_signed(client, m.cut_id, signed.heartbeat,
                                      signed.heartbeat_signature)
            counter["bytes"] += sent
            lap("manifest")
            res.result, res.reason = wait_result(client, m.cut_id, nonce, last,
                                                 activation_timeout)
            lap("verdict")
            return res
        send = delta.missing(m, have)
        base = jail_path(INCOMING, m.cut_id)
        dirs = {base} | {posixpath.join(base, posixpath.dirname(e.path))
                         for e in send if "/" in e.path}
        parents = set()
        for d in dirs:
            while d != jail_path(INCOMING):
                parents.add(d)
                d = posixpath.dirname(d)
        mkdirs(client, parents)
        stop = threading.Event()
        upload_many(transport, send, signed.folder, base, sessions, timeout, counter, stop,
                    client)
        lap("upload")
        if hooks and "after_files" in hooks:
            hooks["after_files"]()
        nonce, sent = send_signed(client, m.cut_id, signed.data, signed.signature)
        counter["bytes"] += sent
        lap("manifest")
        res.result, res.reason = wait_result(client, m.cut_id, nonce, last,
                                             activation_timeout)
        lap("verdict")
    except PushError as exc:
        res.reason = str(exc)
    except (paramiko.SSHException, OSError, EOFError) as exc:
        res.reason = f"SFTP error: {exc or type(exc).__name__}"
    finally:
        res.sent_bytes, res.sent_files = counter["bytes"], counter["files"]
        res.seconds = round(time.monotonic() - start, 3)
        if transport is not None:
            transport.close()
    return res


# How often a push asks for the activator's answer: soon at first (most activations take a
# few tenths of a second), then less and less often. Each ask is an SFTP open, read and close,
# paid by this process and by the difusor's sshd; at a steady 0.1 s, a push whose activator
# waited 10 s for a busy machine's CPU asked ~100 times, which made that machine busier
# (docs/pipeline.md). The served cut does not wait for this answer: only the ledger does.
POLL_FIRST_S, POLL_GROWTH, POLL_MAX_S = 0.05, 1.5, 0.5


def poll_delays():
    """The pauses between asks: POLL_FIRST_S, growing by POLL_GROWTH up to POLL_MAX_S."""
    delay = POLL_FIRST_S
    while True:
        yield delay
        delay = min(delay * POLL_GROWTH, POLL_MAX_S)


def wait_result(client, cut_id, nonce, last, timeout):
    """Poll estado/ultimo.json until the activator answers this very request; the last ask
    is at the deadline."""
    deadline = time.monotonic() + timeout
    pauses = poll_delays()
    while True:
        u = read_json(client, LAST_RESULT) or {}
        if u.get("corte") == cut_id and u.get("solicitud") == nonce:
            if u.get("resultado") == ACTIVATED:
                return "activated", None
            return "refused", u.get("motivo") or "refused"
        left = deadline - time.monotonic()
        if left <= 0:
            return "failed", f"no answer from the activator within {timeout:.0f} s"
        time.sleep(min(next(pauses), left))
