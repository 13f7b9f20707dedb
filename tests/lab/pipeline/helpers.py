"""Helpers for the pipeline's lab tests: cuts, the IEC's side of the jail, the difusor's disk."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import secrets
import subprocess
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import paramiko

from prep_iac import contract
from prep_iac.corte.csvwriter import csv_head
from prep_iac.inventory import load_inventory
from prep_iac.onhost.publisher import manifest as manifest_mod
from prep_iac.onhost.publisher import signing
from prep_iac.onhost.publisher.connect import connect, load_private_key, sftp
from prep_iac.onhost.publisher.ledger import Ledger
from prep_iac.onhost.publisher.run import prepare, publish
from prep_iac.onhost.publisher.stamp import new_stamp
from prep_iac.publish.registry import from_inventory

JAIL = "/srv/sftp/iec"


def registry_for(lab, period_s=2):
    reg = from_inventory(load_inventory(lab.inventory_path))
    return dataclasses.replace(reg, period_s=period_s)


def fresh_stamp(registry, **changes) -> dict:
    """A stamp of the registry's process with a sequence above any issued before (the
    sequence is the time in ms at least), as a hand-made upload needs to pass the stamp
    checks and reach the check it is about."""
    stamp = new_stamp(Path(tempfile.gettempdir()) / "prep-lab-sequence", registry.process,
                      contract.PRODUCTION).to_json()
    return {**stamp, **changes}


TIME_CSV = "COAH_AYUN_2021.csv"


def time_csv(cut_id: str) -> bytes:
    """What makes a folder a PREP cut (onhost/publisher/cutdata.py): a CSV whose second
    line is the time its id names, as prep_iac.corte writes it."""
    local = contract.parse_cut_id(cut_id).replace(tzinfo=ZoneInfo("America/Monterrey"))
    return csv_head(local).encode()


def make_cut(root: Path, cut_id: str, files: dict[str, bytes]) -> Path:
    """`files`, plus the cut's time CSV (TIME_CSV) unless `files` brings one."""
    folder = root / cut_id
    files = {TIME_CSV: time_csv(cut_id), **files}
    for rel, data in files.items():
        p = folder / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return folder


def site(n_actas=60, seed=b"1", size=8000) -> dict[str, bytes]:
    """A small PREP-like cut: pages, CSVs, a zip stand-in and acta images."""
    files = {"index.html": b"<h1>PREP " + seed + b"</h1>",
             "datos/AYUN_COAH.csv": b"casilla,votos\n" + seed * 500,
             "20210606_PREP_AYUN_COAH.zip": b"PK" + seed * 3000}
    for i in range(n_actas):
        files[f"actas/{i:04d}.jpg"] = hashlib.sha256(b"%d" % i).digest() * (size // 32)
    return files


def push(registry, folder, ledger, **kw):
    signed = prepare(folder, folder.name, registry)
    kw.setdefault("timeout", 5.0)
    kw.setdefault("activation_timeout", 30.0)
    return {r.difusor: r for r in publish(registry, signed, ledger, **kw)}


def new_ledger(tmp_path, registry):
    return Ledger(tmp_path / "ledger.sqlite", registry.period_s)


def sh(lab, host, command, check=True):
    proc = lab.run(host, command, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"{host}: {command}: rc {proc.returncode}\n{proc.stderr}")
    return proc.stdout


def blank(lab, name):
    """A difusor that never received a cut (its history, estado and trees gone, and what the
    jail told the IEC about them): whatever an earlier module of the session left served
    would refuse a module's cut as older, and a final cut every later one."""
    told = f"{contract.JAIL_ROOT}/{contract.JAIL_ESTADO}"
    sh(lab, name, f"sudo rm -rf {contract.CURRENT_LINK} {contract.ESTADO_FILE} "
                  f"{contract.CUTS_DIR}/* {contract.ACTIVATOR_STATE_DIR}/manifiestos "
                  f"{told}/{contract.JAIL_ESTADO_FILE} {told}/{contract.JAIL_SERVED_MANIFEST}",
       check=False)


def current(lab, host):
    return sh(lab, host, "readlink /srv/prep/current", check=False).strip()


def served_digests(lab, host) -> dict[str, str]:
    out = sh(lab, host, "cd /srv/prep/current/ && sudo find . -type f -print0 | "
                        "sudo xargs -0 sha256sum")
    return {line[66:].removeprefix("./"): line[:64] for line in out.splitlines()}


def local_digests(folder: Path) -> dict[str, str]:
    return {e.path: e.sha256 for e in manifest_mod.build(folder).entries}


def journal(lab, host, ident, since="-10min"):
    return sh(lab, host, f"sudo journalctl -q -t {ident} --since={since} --no-pager -o cat")


class Jail:
    """The IEC's own SFTP session into a difusor's jail (as the push engine logs in)."""

    def __init__(self, registry, difusor_name):
        self.registry = registry
        self.difusor = next(d for d in registry.difusores if d.name == difusor_name)
        self.transport = connect(self.difusor, registry.jail_user,
                                 load_private_key(registry.sftp_identity), 5.0)
        self.sftp = sftp(self.transport, 10.0)

    def close(self):
        self.transport.close()

    def put(self, path, data: bytes):
        parts = path.strip("/").split("/")
        for i in range(1, len(parts)):
            try:
                self.sftp.mkdir("/" + "/".join(parts[:i]))
            except OSError:
                pass
        with self.sftp.open(path, "wb") as f:
            f.write(data)

    def ultimo(self):
        try:
            with self.sftp.open("/estado/ultimo.json") as f:
                return json.loads(f.read())
        except OSError:
            return {}

    def mark(self, cut_id, timeout=30.0):
        """Write the .listo marker and wait for the activator's verdict on it."""
        nonce = secrets.token_hex(6)
        with self.sftp.open(f"/incoming/.{cut_id}.listo", "wb") as f:
            f.write(nonce.encode())
        self.sftp.posix_rename(f"/incoming/.{cut_id}.listo", f"/incoming/{cut_id}.listo")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            u = self.ultimo()
            if u.get("solicitud") == nonce:
                return u
            time.sleep(0.2)
        raise AssertionError(f"no verdict for {cut_id} within {timeout} s")

    def upload_cut(self, cut_id, files: dict[str, bytes], manifest_doc: dict | None = None,
                   key: Path | None = None, sign=True, timestamp="2021-06-06T23:00:00-05:00"):
        """Files as given, and a manifest (by default the honest one of `files`)."""
        for rel, data in files.items():
            self.put(f"/incoming/{cut_id}/{rel}", data)
        doc = manifest_doc or {
            "formato": manifest_mod.FORMAT, "corte": cut_id, "fecha_hora": timestamp,
            **fresh_stamp(self.registry), "archivos": [{"ruta": r, "bytes": len(d), "sha256": hashlib.sha256(d).hexdigest()}
                         for r, d in files.items()]}
        data = json.dumps(doc).encode()
        self.put(f"/incoming/{cut_id}.manifiesto.json", data)
        if sign:
            self.put(f"/incoming/{cut_id}.manifiesto.json.sig", signing.sign(data, key))
        return doc


def keypair(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    os.chmod(path, 0o600)
    return path


def try_exec(transport: paramiko.Transport, command: str) -> tuple[int, bytes]:
    chan = transport.open_session(timeout=5)
    chan.settimeout(10)
    chan.exec_command(command)
    out = b""
    try:
        while True:
            chunk = chan.recv(4096)
            if not chunk:
                break
            out += chunk
    except TimeoutError:
        pass
    return chan.recv_exit_status(), out


REPO = Path(__file__).resolve().parents[3]


def deploy(lab, deploy_file, inventory=None, timeout=900):
    """pyinfra on the lab (or a given) inventory; returns (ok, changed, output)."""
    import re
    import sys

    pyinfra = str(Path(sys.executable).with_name("pyinfra"))
    env = {**os.environ, "PREP_INVENTORY": str(inventory or lab.inventory_path)}
    proc = subprocess.run([pyinfra, "-y", str(REPO / "inventories/env.py"),
                           str(REPO / deploy_file)], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)
    out = proc.stdout + proc.stderr
    m = re.search(r"Grand total\s+(\d+|-)\s+(\d+|-)\s+(\d+|-)\s+(\d+|-)", out)
    vals = [0 if v == "-" else int(v) for v in m.groups()] if m else [0, 0, 1, 0]
    return proc.returncode == 0 and vals[2] == 0, vals[1], out


def ensure_inotify(instances=8192):
    """Every lab host's systemd and path units share root's inotify instances on this machine
    (128 by default): with a dozen hosts, path units fail to start. Raise it, never lower."""
    knob = Path("/proc/sys/fs/inotify/max_user_instances")
    if int(knob.read_text()) < instances:
        knob.write_text(str(instances))


def age_jail_entries(lab, host, seconds):
    """Make the activator's own record of incoming/ (when root first saw each entry as it is)
    `seconds` older: the sweep ages uploads by that, never by times the uploader set."""
    from prep_iac import contract

    seen = f"{contract.ACTIVATOR_STATE_DIR}/{contract.ACTIVATOR_SEEN_NAME}"
    script = ("import json,sys\n"
              f"p={seen!r}\n"
              "d=json.load(open(p))\n"
              f"for v in d.values(): v['since']-={int(seconds)}\n"
              "json.dump(d,open(p,'w'))\n")
    sh(lab, host, "sudo systemctl start prep-activator-sweep.service && "
                  f"sudo python3 -c {shlex_quote(script)}")


def shlex_quote(text):
    import shlex

    return shlex.quote(text)
