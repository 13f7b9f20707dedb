"""What the web-attack filter's regexes cost per request, and what the ways to cut it would
buy, on this machine alone (no lab):

    .venv/bin/python bench/waf.py [--rounds 10] [--duration 3]

1. The patterns (PCRE2 with JIT, as nginx runs them with `pcre_jit on`, through `grep -P`):
   microseconds per clean PREP request, grep's own per-line cost (an empty pattern over the
   same lines) subtracted, best of 5 passes over 400,000 lines. As deployed: the 13 URI
   patterns tried one by one (what nginx's map does for a request none matches) and the
   user-agent pattern on a browser's user agent. Candidates, measured and not deployed:
   - one alternation: the 13 URI patterns joined into one regex (one call, no match);
   - plain-path shortcut: a request whose URI is a plain path (letters, digits, `-`, `_`,
     dots inside names, no query) can match only the probe names, so it would be tried
     against a plain-path test and those alone.
2. In nginx, the same run: nginx (this machine's, one worker, `pcre_jit on`, loopback, plain
   HTTP) serving a 20 KB page to wrk -t1 -c10 with a browser's user agent, without the
   filter, with it as deployed, and with the plain-path shortcut written into its maps,
   alternating rounds; microseconds of nginx CPU per request, and the paired differences'
   medians (what grep cannot see: nginx's own work per map and per regex call).

Traffic stays on 127.0.0.1; nginx is started and stopped by PID.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prep_iac.components import waf
from prep_iac.lab.host import children

PORT = 18087
URIS = ["/index.html", "/municipio_07.html", "/datos/municipio_05.json", "/estado.json",
        "/actas/05001B0101.png", "/resultados/municipio_07.html"]
PAGE = URIS[-1]
AGENT = ("Mozilla/5.0 (Linux; Android 13; SM-A135M) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/125.0 Mobile Safari/537.36")
LINES = 400_000
CLK_TCK = os.sysconf("SC_CLK_TCK")
PLAIN_PATH = r"^(?:/[a-z0-9_-]+(?:\.[a-z0-9_-]+)*)*/?$"  # candidate, not deployed
PROBE_NAMES = next(p for reason, p in waf.URI_PATTERNS if reason == "probe")


# --- 1. the patterns ---------------------------------------------------------------------

def grep_s(pattern: str, lines: Path) -> float:
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        subprocess.run(["grep", "-Pic", pattern, str(lines)], capture_output=True, check=False)
        best = min(best, time.perf_counter() - started)
    return best


def pattern_costs(tmp: Path) -> dict[str, float]:
    """Microseconds per request of each way of testing a clean request."""
    uris, agents = tmp / "uris", tmp / "agents"
    uris.write_text("\n".join(URIS[i % len(URIS)] for i in range(LINES)) + "\n")
    agents.write_text((AGENT + "\n") * LINES)

    def us(pattern: str, lines: Path) -> float:
        return max(0.0, grep_s(pattern, lines) - grep_s("^$", lines)) / LINES * 1e6

    return {
        "URI patterns one by one (deployed)": sum(us(p, uris) for _, p in waf.URI_PATTERNS),
        "user-agent pattern, browser (deployed)": us(waf.UA_PATTERN, agents),
        "URI patterns as one alternation": us("|".join(f"(?:{p})" for _, p in
                                                       waf.URI_PATTERNS), uris),
        "plain-path test + probe names": us(PLAIN_PATH, uris) + us(PROBE_NAMES, uris),
    }


# --- 2. nginx's own cost per request -------------------------------------------------------

def shortcut_maps() -> str:
    """The deployed maps with the plain-path shortcut: a plain path is tried against the
    probe names alone, any other URI against every pattern as before."""
    head = 'map $request_uri $prep_waf_uri {\n    default "";\n'
    deployed = waf.maps()
    assert head in deployed, "the filter's maps changed: update bench/waf.py"
    return deployed.replace(head, (
        'map $request_uri $prep_waf_plain {\n    default "";\n'
        f'    {waf.nginx_regex(PROBE_NAMES)} "probe";\n}}\n'
        f"{head}    {waf.nginx_regex(PLAIN_PATH)} $prep_waf_plain;\n"), 1)


def nginx_config(root: Path, maps: str) -> str:
    check = "if ($prep_waf) { return 403; }" if maps else ""
    return (f"worker_processes 1; pcre_jit on; pid {root}/nginx.pid; "
            f"error_log {root}/error.log; daemon on;\nevents {{ worker_connections 1024; }}\n"
            f"http {{ access_log off;\n{maps}\nserver {{ listen 127.0.0.1:{PORT}; "
            f"root {root}/html; location / {{ {check} }} }} }}\n")


def worker_cpu_s(master: int) -> float:
    (worker,) = children(master)
    fields = Path(f"/proc/{worker}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def nginx_us(root: Path, maps: str, duration: int) -> float:
    """Microseconds of nginx worker CPU per request of the page."""
    conf = root / "nginx.conf"
    conf.write_text(nginx_config(root, maps))
    subprocess.run(["nginx", "-t", "-q", "-c", str(conf)], check=True)
    subprocess.run(["nginx", "-c", str(conf)], check=True)
    master = int((root / "nginx.pid").read_text())
    try:
        time.sleep(0.3)
        before = worker_cpu_s(master)
        out = subprocess.run(["wrk", "-t1", "-c10", f"-d{duration}", "-H", f"User-Agent: {AGENT}",
                              f"http://127.0.0.1:{PORT}{PAGE}"], capture_output=True, text=True,
                             check=True).stdout
        used = worker_cpu_s(master) - before
    finally:
        os.kill(master, 15)
        deadline = time.monotonic() + 10
        while Path(f"/proc/{master}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    if "Non-2xx" in out:
        raise SystemExit(f"nginx refused the page:\n{out}")
    return max(used, 1 / CLK_TCK) / int(re.search(r"(\d+) requests in", out).group(1)) * 1e6


def site(tmp: Path) -> Path:
    root = tmp / "nginx"
    page = root / "html" / PAGE.lstrip("/")
    page.parent.mkdir(parents=True)
    page.write_text("<p>resultado</p>" * 1250)
    for d in (tmp, root, root / "html", page.parent):
        d.chmod(0o755)  # nginx's workers (www-data) read the page
    return root


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=10, help="alternating nginx rounds")
    ap.add_argument("--duration", type=int, default=3, help="seconds per wrk run")
    args = ap.parse_args()
    for tool in ("nginx", "wrk", "grep"):
        if not shutil.which(tool):
            sys.exit(f"bench/waf.py needs {tool}: apt-get install {tool}")
    loads = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory(prefix="prep-bench-waf-") as tmp_name:
        tmp = Path(tmp_name)
        costs = pattern_costs(tmp)
        for name, us in costs.items():
            print(f"{name:42s} {us:6.2f} µs per request", flush=True)
        root = site(tmp)
        variants = {"none": "", "deployed": waf.maps(), "shortcut": shortcut_maps()}
        us = {name: [] for name in variants}
        for n in range(args.rounds):
            loads.append(os.getloadavg()[0])
            for name, maps in variants.items():
                us[name].append(nginx_us(root, maps, args.duration))
            print(f"round {n + 1}: nginx µs per request: " + ", ".join(
                f"{name} {got[-1]:.1f}" for name, got in us.items())
                + f" (load {loads[-1]:.1f})", flush=True)

    def paired(a: str, b: str) -> float:
        return statistics.median(x - y for x, y in zip(us[a], us[b]))

    bare, full = statistics.median(us["none"]), statistics.median(us["deployed"])
    deployed = costs["URI patterns one by one (deployed)"]
    ua = costs["user-agent pattern, browser (deployed)"]
    print(f"FIGURE waf load (1-min average, min-max): {min(loads):.1f}-{max(loads):.1f}")
    print(f"FIGURE waf regexes per clean request, PCRE2 JIT (URI + user agent): "
          f"{deployed + ua:.2f} µs ({deployed:.2f} + {ua:.2f})")
    print(f"FIGURE waf nginx CPU per request, 20 KB page over HTTP, without / with the filter: "
          f"{bare:.1f} / {full:.1f} µs (filter {paired('deployed', 'none'):+.1f} µs paired, "
          f"ratio {bare / full:.2f})")
    print(f"FIGURE waf candidate plain-path shortcut, in nginx: "
          f"{paired('shortcut', 'deployed'):+.2f} µs per request (grep: "
          f"{costs['plain-path test + probe names'] - deployed:+.2f} µs)")
    print(f"FIGURE waf candidate one alternation, grep: "
          f"{costs['URI patterns as one alternation'] - deployed:+.2f} µs per request")
    return 0


if __name__ == "__main__":
    sys.exit(main())
