"""The memoria's baseline (base VI): the organization's usual portal, from its own access
logs, and the memoria's delivery against the calendar's `memoria_by`.

`memoria collect` copies the portal's logs of the baseline days (the inventory's
`portal_logs.days` before the PREP window) into OUT/linea-base/, from a folder on this
machine or from the portal's host over SSH (its pinned key; an account that can read them,
on Debian one in group adm, or an admin with sudo). `memoria report --logs OUT` takes them as its baseline.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path

from prep_iac import sshconf
from prep_iac.errors import PrepError
from prep_iac.memoria import bundle, parse

BASELINE_DIR = parse.BASELINE_DIR
TIMEOUT_S = 300


def days_before(since: datetime, days: int) -> tuple[datetime, datetime]:
    """The `days` whole local days before the day `since` falls in."""
    end = since.replace(hour=0, minute=0, second=0, microsecond=0)
    return end - timedelta(days=days), end


def _from_folder(folder: Path, prefix: str, dest: Path) -> None:
    if not folder.is_dir():
        raise PrepError(f"portal_logs folder {folder} does not exist",
                        "copy the portal's access logs there, or fix portal_logs.folder")
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.name.startswith(prefix):
            shutil.copy2(p, dest / p.name)


def _tar_command(path: str, prefix: str) -> str:
    """The logs as one tar stream: as the account itself when it can read every file (a
    reader in group adm), else through `sudo -n` (an admin). path and prefix are validated
    by the schema (plain characters only)."""
    return (f"cd {path} && files=$(ls -d {prefix}* 2>/dev/null) && ok=1 && "
            'for f in $files; do [ -r "$f" ] || ok=0; done && '
            'if [ $ok = 1 ]; then tar -cf - $files; else sudo -n tar -cf - $files; fi')


def _from_host(portal, dest: Path) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="prep-portal-"))
    try:
        known = sshconf.write(tmp / "known_hosts", sshconf.text(sshconf.known_host_lines(
            [portal.address], portal.ssh_port, [portal.host_key])))
        options = {**sshconf.pinned(known, only=True), "BatchMode": "yes",
                   "ConnectTimeout": 15, **(sshconf.identity(portal.ssh_key)
                                             if portal.ssh_key else {})}
        command = ["ssh", "-p", str(portal.ssh_port),
                   *[a for k, v in options.items() for a in ("-o", f"{k}={v}")],
                   f"{portal.ssh_user}@{portal.address}",
                   _tar_command(portal.path, portal.prefix)]
        try:
            proc = subprocess.run(command, capture_output=True, timeout=TIMEOUT_S, check=False,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise PrepError(f"the portal's host {portal.address} did not answer in "
                            f"{TIMEOUT_S} s", "check it is reachable, then collect again") \
                from None
        if proc.returncode:
            raise PrepError(f"fetching the portal's logs from {portal.address} failed: "
                            f"{proc.stderr.decode(errors='replace').strip()[-400:]}",
                            f"check that {portal.ssh_user} can log in there and read "
                            f"{portal.path}/{portal.prefix}* (on Debian: group adm)")
        with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
            for member in tar.getmembers():
                name = Path(member.name).name
                source = tar.extractfile(member) if member.isfile() else None
                if source is None or not name.startswith(portal.prefix):
                    continue
                (dest / name).write_bytes(source.read())
                os.utime(dest / name, (member.mtime, member.mtime))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def collect_portal(portal, out: Path, since: datetime) -> dict:
    """The portal's logs of the baseline days into OUT/linea-base/ (whole files, as found;
    the others are left out). Returns what collect records about them."""
    start, end = days_before(since, portal.days)
    dest = out / BASELINE_DIR
    shutil.rmtree(dest, ignore_errors=True)
    fetched = dest.with_name(BASELINE_DIR + ".todo")
    shutil.rmtree(fetched, ignore_errors=True)
    fetched.mkdir(parents=True)
    try:
        if portal.folder:
            _from_folder(Path(portal.folder), portal.prefix, fetched)
        else:
            _from_host(portal, fetched)
        files = parse.log_files(fetched)
        chosen = bundle.select_logs(files, start.timestamp(), end.timestamp())
        if not chosen:
            origin = portal.folder or f"{portal.address}:{portal.path}"
            raise PrepError(f"no log of the portal ({origin}, {portal.prefix}*) covers the "
                            f"baseline days {start.date()} to {end.date() - timedelta(days=1)}",
                            "give the portal's logs of the days before the election (or "
                            "fewer portal_logs.days)")
        dest.mkdir()
        for p in chosen:
            shutil.move(p, dest / p.name)
    finally:
        shutil.rmtree(fetched, ignore_errors=True)
    return {"origen": str(portal.folder or f"{portal.address}:{portal.path}"),
            "desde": start.isoformat(), "hasta": end.isoformat(), "dias": portal.days,
            "archivos": {p.name: bundle.sha256_file(p) for p in sorted(dest.iterdir())}}


ON_TIME, LATE = "a tiempo", "tarde"


def delivery(due: date, delivered: date) -> dict:
    """The memoria's delivery against the calendar's memoria_by (base VI), in Spanish."""
    late = (delivered - due).days
    return {"fecha_limite": due.isoformat(), "fecha_entrega": delivered.isoformat(),
            "estado": LATE if late > 0 else ON_TIME, "dias_de_retraso": max(late, 0)}
