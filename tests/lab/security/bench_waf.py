"""What the web-attack filter costs: wrk from the controller against one lab difusor, the
same cut and files, with the filter on and with its two files removed (nginx reloaded).

    PREP_LAB_NAME=sec PREP_LAB_SUBNET=10.84.0.0/24 .venv/bin/python tests/lab/security/bench_waf.py

Uses a running lab (after `prep-iac lab up` or a kept test lab); rate limits are raised so
they are evaluated but never refuse. Traffic goes only to the lab's addresses.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "lab"))

from conftest import deploy

from prep_iac.lab import Lab
from security.setup import (
    DEPLOY_FULL,
    gateway,
    publish_generated_cut,
    remove_written,
    sudo,
    write_inventory,
)

WAF_FILES = ["/etc/nginx/conf.d/prep-waf.conf", "/etc/nginx/prep.d/waf.conf"]


def wrk(url: str, seconds: int, connections: int = 16) -> float:
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", url],
                         capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def main() -> None:
    lab = Lab(os.environ.get("PREP_LAB_NAME", "sec"), os.environ.get("PREP_LAB_SUBNET"))
    d1, pub = lab.hosts["difusor-1"], lab.hosts["publisher-1"]
    inventory = write_inventory(lab, "bench", admins=[lab.spec.subnet], iec=[f"{pub}/32"],
                                limits={"requests_per_s": 1_000_000, "burst": 100_000,
                                        "connections": 10_000,
                                        "new_connections_per_s": 100_000})
    result = deploy(lab, DEPLOY_FULL, limit="difusor-1",
                    extra_env={"PREP_INVENTORY": str(inventory)})
    assert result.ok, result.output[-3000:]
    with tempfile.TemporaryDirectory() as tmp:
        cut, _ = publish_generated_cut(lab, "difusor-1", Path(tmp))
    sizes = sudo(lab, "difusor-1", "cd /srv/prep/current && ls -S | head -1").stdout.strip()
    targets = {"index.html (small page)": f"https://{d1}/index.html",
               f"{sizes} (largest file)": f"https://{d1}/{sizes}"}
    seconds = int(os.environ.get("BENCH_SECONDS", "8"))
    rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
    off_cmd = " && ".join(f"mv {f} {f}.bench-off" for f in WAF_FILES)
    on_cmd = " && ".join(f"mv {f}.bench-off {f}" for f in WAF_FILES)
    reload = " && nginx -t -q && systemctl reload nginx"
    rows = []
    for label, url in targets.items():
        wrk(url, 2)  # warm up
        on, off = [], []
        # Interleaved rounds, medians: the lab machine is shared and its load varies.
        for _ in range(rounds):
            on.append(wrk(url, seconds))
            sudo(lab, "difusor-1", off_cmd + reload)
            time.sleep(2)
            try:
                off.append(wrk(url, seconds))
            finally:
                sudo(lab, "difusor-1", on_cmd + reload)
                time.sleep(2)
        rows.append((label, off, on))
    print(f"cut {cut}, wrk -t2 -c16 -d{seconds}s x {rounds} interleaved rounds, HTTPS, from the "
          f"controller ({gateway(lab.spec.subnet)}); req/s, median (all rounds)")
    for label, off, on in rows:
        ratio = 100 * statistics.median(on) / statistics.median(off)
        print(f"{label}: filter off {statistics.median(off):.0f} {[round(x) for x in off]}, "
              f"filter on {statistics.median(on):.0f} {[round(x) for x in on]}: {ratio:.0f}%")

if __name__ == "__main__":
    try:
        main()
    finally:
        remove_written()
