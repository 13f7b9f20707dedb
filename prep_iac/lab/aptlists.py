"""Package lists for lab hosts: fetched once by the controller, copied into each new host.

Several hosts running `apt-get update` through apt-cacher-ng at the same moment make it race
on the same InRelease: it answers some of them with 503 or an empty body, and apt 2.6 then
never ends (measured: 10 parallel updates through the proxy, 2–6 of them hung in 3 of 4
rounds). So the controller fetches a release's lists alone, through the same proxy, at most
every MAX_AGE_S, and each new host starts with them and a fresh update stamp: the deploys'
`apt.update(cache_time=3600)` has nothing to fetch, and only the .deb files (which the
proxy serves well in parallel) go through it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from prep_iac.lab import aptproxy
from prep_iac.lab.layout import APT_DIR
from prep_iac.lab.locks import locked

LISTS_DIR = APT_DIR / "lists"
MAX_AGE_S = 1800
STAMP = ".fetched"
# What pyinfra's apt.update(cache_time=...) reads to decide the lists are recent.
UPDATE_STAMP = "var/lib/apt/periodic/update-success-stamp"


def age_s(release: str) -> float | None:
    try:
        return time.time() - (LISTS_DIR / release / STAMP).stat().st_mtime
    except FileNotFoundError:
        return None


def fresh(release: str, base_root: Path) -> Path:
    """The release's package lists, fetched through the proxy when missing or older than
    MAX_AGE_S. Raises RuntimeError with apt's own words when the fetch fails."""
    target = LISTS_DIR / release
    with locked(APT_DIR / "lists.lock"):
        age = age_s(release)
        if age is not None and age < MAX_AGE_S:
            return target
        tmp = LISTS_DIR / f".{release}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        (tmp / "lists" / "partial").mkdir(parents=True)
        (tmp / "cache" / "archives" / "partial").mkdir(parents=True)
        apt = base_root / "etc/apt"
        proc = subprocess.run(
            ["apt-get", "-q", "update",
             "-o", f"Dir::State::Lists={tmp}/lists", "-o", f"Dir::Cache={tmp}/cache",
             "-o", f"Dir::Etc::SourceList={apt}/sources.list",
             "-o", "Dir::Etc::SourceParts=/nonexistent",
             "-o", f"Dir::Etc::TrustedParts={apt}/trusted.gpg.d",
             "-o", "Dir::Etc::Trusted=/nonexistent",
             "-o", f"Acquire::http::Proxy={aptproxy.URL}", "-o", "Acquire::Retries=3",
             # as a host stores them, whatever this machine's own apt keeps
             "-o", "Acquire::GzipIndexes=false", "-o", "Acquire::Languages=none",
             "-o", "APT::Sandbox::User=root"],
            capture_output=True, text=True, timeout=300, check=False)
        failed = [ln for ln in proc.stdout.splitlines() + proc.stderr.splitlines()
                  if ln.startswith(("E:", "W:", "Err:"))]
        if proc.returncode != 0 or failed:
            shutil.rmtree(tmp, ignore_errors=True)
            raise RuntimeError("; ".join(failed) or f"apt-get update exited {proc.returncode}")
        shutil.rmtree(target, ignore_errors=True)
        (tmp / "lists").rename(target)
        shutil.rmtree(tmp)
        (target / STAMP).touch()
    return target


def install(lists: Path, upper: Path) -> None:
    """Put the lists into a new host's own overlay layer (before it is mounted), as hard
    links: apt replaces list files by renaming new ones over them, never in place. Stamp
    them as just updated."""
    dest = upper / "var/lib/apt/lists"
    dest.mkdir(parents=True, exist_ok=True)
    for item in lists.iterdir():
        if item.is_file() and item.name not in ("lock", STAMP):
            try:
                os.link(item, dest / item.name)
            except OSError:  # another filesystem
                shutil.copy2(item, dest / item.name)
    stamp = upper / UPDATE_STAMP
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.touch()
