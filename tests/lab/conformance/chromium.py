"""Render a page in headless Chromium (Debian's `chromium`) and return its DOM."""

from __future__ import annotations

import shutil
import subprocess
import tempfile

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def dump_dom(url: str, timeout: float = 90.0) -> str:
    binary = shutil.which("chromium")
    if not binary:
        raise AssertionError("chromium is not installed (./dev bootstrap installs it)")
    with tempfile.TemporaryDirectory(prefix="prep-chromium-") as profile:
        proc = subprocess.run([binary, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
                              capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise AssertionError(f"chromium failed (rc {proc.returncode}): {proc.stderr[-2000:]}")
    return proc.stdout
