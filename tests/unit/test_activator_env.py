"""A fake difusor on a temp dir for the activator's unit tests: root, jail, keys, uploads."""

import dataclasses
import json
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from handmade import iso_time

from prep_iac import contract
from prep_iac.onhost import activator as act
from prep_iac.onhost.publisher import delta, manifest, signing


def keypair(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", path.name, "-f",
                    str(path)], check=True)
    return path


class Env:
    def __init__(self, tmp: Path, keep: int = 3):
        self.tmp = tmp
        self.root = tmp / "srv/prep"
        self.jail = tmp / "srv/sftp/iec"
        self.incoming = self.jail / "incoming"
        for d in (self.root / "cortes", self.incoming, self.jail / "estado"):
            d.mkdir(parents=True)
        self.key = keypair(tmp / "firma")
        self.other_key = keypair(tmp / "otra")
        signers = tmp / "allowed_signers"
        signers.write_text(signing.allowed_signers([(tmp / "firma.pub").read_text()]))
        self.cfg = act.ActivatorConfig(jail=str(self.jail), root=str(self.root),
                                       state_dir=str(tmp / "state"),
                                       allowed_signers=str(signers), keep=keep,
                                       reserve_bytes=0, watchdog_config="", stale_s=60,
                                       process=self.PROCESS,
                                       prep_opens="2021-06-06T18:00:00-05:00")
        self.sequence = 0

    PROCESS = "prueba-2021"

    def stamp(self, **changes) -> dict:
        """A production stamp with the next sequence, issued now; `changes` override it."""
        self.sequence += 1
        stamp = {"proceso": self.PROCESS, "modo": contract.PRODUCTION,
                 "secuencia": self.sequence,
                 "emitido": datetime.now(UTC).astimezone().isoformat(timespec="seconds"),
                 "final": False}
        stamp.update(changes)
        if changes.get("modo") == contract.DRILL and "proceso" not in changes:
            stamp["proceso"] = contract.drill_process(self.PROCESS)
        return stamp

    def set(self, **changes):
        """The activator's settings with some changed (they are frozen, as on the host)."""
        self.cfg = dataclasses.replace(self.cfg, **changes)

    def make_cut(self, cut_id: str, files: dict[str, bytes]) -> Path:
        folder = self.tmp / "cuts" / cut_id
        for rel, data in files.items():
            p = folder / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
        return folder

    @staticmethod
    def build(folder: Path) -> manifest.Manifest:
        """The manifest of a hand-made tree, no PREP cut: the time its name says, vouched
        for (the activator reads the manifest's time, never the files')."""
        return manifest.build(folder, timestamp=iso_time(folder.name))

    def served_manifest(self):
        p = self.jail / "estado" / "manifiesto.json"
        return json.loads(p.read_text()) if p.exists() else None

    def upload(self, folder: Path, *, key: Path | None = None, mutate=None, marker=True,
               sign=True, full=False, stamp: dict | None = None) -> manifest.Manifest:
        """What the push engine does, on a local disk: missing files, manifest, sig, marker."""
        m = self.build(folder).stamped(stamp or self.stamp())
        send = m.entries if full else delta.missing(m, delta.have_of_served(self.served_manifest()))
        for e in send:
            dst = self.incoming / m.cut_id / e.path
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes((folder / e.path).read_bytes())
        self.send(m.cut_id, m.to_bytes(), key=key, mutate=mutate, marker=marker, sign=sign)
        return m

    def heartbeat(self, m: manifest.Manifest, stamp: dict | None = None, **options) -> bytes:
        """A heartbeat naming m's content under a new stamp, sent like the push engine does."""
        data = m.stamped(stamp or self.stamp()).heartbeat_bytes()
        self.send(m.cut_id, data, **options)
        return data

    def send(self, cut_id: str, data: bytes, *, key: Path | None = None, mutate=None,
             marker=True, sign=True) -> None:
        if mutate:
            doc = json.loads(data)
            mutate(doc)
            data = json.dumps(doc).encode()
        (self.incoming / f"{cut_id}.manifiesto.json").write_bytes(data)
        if sign:
            sig = signing.sign(data, key or self.key, signing.NAMESPACE)
            (self.incoming / f"{cut_id}.manifiesto.json.sig").write_bytes(sig)
        if marker:
            (self.incoming / f"{cut_id}.listo").write_text("nonce-1\n")

    def estado(self) -> dict:
        return json.loads((self.root / "estado.json").read_text())

    def run(self, sweep=False):
        return act.run(self.cfg, sweep)

    def current(self):
        link = self.root / "current"
        return os.readlink(link) if link.is_symlink() else None

    def ultimo(self):
        return json.loads((self.jail / "estado" / "ultimo.json").read_text())

    def served_files(self) -> dict[str, bytes]:
        base = self.root / "current"
        return {p.relative_to(base).as_posix(): p.read_bytes()
                for p in base.rglob("*") if p.is_file()}
