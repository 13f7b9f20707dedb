"""Benchmark of the cut pipeline: our delta push against `rsync -a --delete` over SSH.

    .venv/bin/python bench/publish.py [--difusores 10] [--actas 4400] [--image-kb 100]
                                      [--rounds 3] [--sessions 4] [--name pipe]
                                      [--subnet 10.85.0.0/24] [--keep]

On a lab of N difusores (root; the lab is destroyed at the end, also on failure):
  1. a generated cut of ~4,000 files (~400 MB, prep-iac corte generate) is pushed to every
     difusor (the full first push, for reference);
  2. --rounds times: a following cut adds 200 acta images and rewrites every CSV (in the
     cut's zip) and the pages; our engine pushes it to all N difusores in parallel, and
     rsync -a --delete (over ssh, the same ssh_config) sends the same change to a copy of
     the previous cut on the same hosts, N in parallel. The side that goes first alternates
     (the machine's load changes by the minute); the medians of the rounds are reported;
  3. one more cut to one difusor alone, for the activation's own figure.
Bytes on the wire are each difusor's received bytes on its interface (read through nsenter,
not ssh, so the measuring adds nothing). Both run from this machine (the lab's gateway).
Aims: our bytes within 10% of the changed bytes, wall time no worse than rsync, and the
activation of the ~4,000-file cut under 2 s (the activator's own figure).

Wall time, ours against rsync (all N done), two ways:
- transfer (the aim's figure): ours is the slowest difusor's connect + delta + upload +
  manifest phases, until its `.listo` is written: the same job as rsync's, delivering the
  changed files. Each side opens its own SSH connection, as a publisher run by a timer
  each period does (rsync gets `ControlMaster=no`: the lab's ssh_config would otherwise
  lend it an open master connection, an SSH handshake for free). rsync through that open
  master is measured too, on a copy, and printed for reference.
  Ours computes the delta as the publisher service does (`known_from_cache`): from its own copy of the
  manifest the difusor names as served (by the signed bytes' SHA-256 in its estado.json),
  as rsync's sender reads its side from its own disk; rsync still has to fetch the
  receiver's file list.
- end to end: ours until every difusor's activator has answered: it verified the signature
  and every new file's hash, built the cut and switched to it. rsync does none of that; the
  activation has its own aim (under 2 s for a ~4,000-file cut, one difusor alone).
Rounds alternate which side goes first, and each side starts after a `sync`: the lab hosts
share this machine's disk, and the writeback of the other side's files would otherwise be
charged to whichever side comes second.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from statistics import median

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from prep_iac import contract
from prep_iac.inventory import load_inventory
from prep_iac.lab import Lab
from prep_iac.onhost.publisher import delta, manifest
from prep_iac.onhost.publisher.ledger import Ledger
from prep_iac.onhost.publisher.run import known_from_cache, prepare, publish
from prep_iac.publish.registry import from_inventory

DEPLOY = REPO / "tests/lab/pipeline/deploy_pipeline.py"
AIM_BYTES = 1.10
AIM_ACTIVATION_S = 2.0
LINK_MBPS = 10
NEW_FILES = 200
TRANSFER_PHASES = ("connect", "delta", "upload", "manifest")  # up to the .listo, not verdict
# The activator's last result, as the host sees it (phase timings of the cut just activated).
LAST_RESULT = f"{contract.JAIL_ROOT}/{contract.JAIL_ESTADO}/{contract.JAIL_LAST_RESULT}"


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def deploy(lab: Lab) -> None:
    env = {**os.environ, "PREP_INVENTORY": str(lab.inventory_path)}
    log = Path(tempfile.gettempdir()) / f"prep-bench-publish-deploy-{lab.name}.log"
    with open(log, "w") as out:  # followable while it runs
        proc = subprocess.run([str(Path(sys.executable).with_name("pyinfra")), "-y",
                               str(REPO / "inventories/env.py"), str(DEPLOY)], cwd=REPO,
                              env=env, stdout=out, stderr=subprocess.STDOUT, timeout=1800,
                              check=False)
    if proc.returncode:
        raise SystemExit("deploy failed:\n" + log.read_text()[-3000:])


def generate(out: Path, actas: int, image_kb: int) -> Path:
    sh([str(Path(sys.executable).with_name("prep-iac")), "corte", "generate", "--out", str(out),
        "--at", "2021-06-07 02:00", "--actas", str(actas), "--image-kb", str(image_kb)],
       timeout=1800)
    return next(p for p in out.iterdir() if p.is_dir() and contract.parse_cut_id(p.name))


def following(cut: Path, image_kb: int, step: str = "0210") -> Path:
    """The next cut: every file of the first (hard links), 200 new images, new CSVs."""
    prev = cut.name.split("_")[1]
    nxt = cut.with_name(cut.name.replace(f"_{prev}_", f"_{step}_"))
    sh(["cp", "-al", str(cut), str(nxt)])
    for i in range(NEW_FILES):
        (nxt / "actas" / f"bench-{step}-{i:04d}.jpg").write_bytes(os.urandom(image_kb * 1024))
    # The CSVs travel in the cut's zip (the database package): rewrite every row of each,
    # as the next cut would; the pages that show the totals change too.
    old_zip = next(nxt.glob("*.zip"))
    new_zip = nxt / old_zip.name.replace(f"_{prev}_", f"_{step}_")
    with zipfile.ZipFile(old_zip) as src, zipfile.ZipFile(new_zip.with_suffix(".tmp"), "w",
                                                          zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.lower().endswith(".csv"):
                data = data.replace(b"\r\n", b" \r\n")
            dst.writestr(info.filename.replace(f"_{prev}_", f"_{step}_"), data)
    old_zip.unlink()
    new_zip.with_suffix(".tmp").rename(new_zip)
    for page in nxt.glob("*.html"):
        data = page.read_bytes()
        page.unlink()  # break the hard link before writing
        page.write_bytes(data.replace(f"{prev[:2]}:{prev[2:]}".encode(),
                                      f"{step[:2]}:{step[2:]}".encode()))
    return nxt


def rx_bytes(lab: Lab, names) -> dict[str, int]:
    return {n: int(lab.nsenter(n, ["cat", "/sys/class/net/host0/statistics/rx_bytes"])
                   .stdout) for n in names}


def parallel(fn, names):
    with ThreadPoolExecutor(len(names)) as pool:
        return dict(zip(names, pool.map(fn, names)))


def rsync(lab: Lab, src: Path, name: str, dest: str = "rsync-bench",
          master: bool = False) -> float:
    """rsync -a --delete to `dest` on the host; its own SSH connection unless `master`."""
    ssh = f"ssh -F {lab.ssh_config_path}"
    if not master:
        ssh += " -o ControlMaster=no -o ControlPath=none"
    start = time.monotonic()
    sh(["rsync", "-a", "--delete", "-e", ssh, f"{src}/", f"{name}:{dest}/"], timeout=1800)
    return time.monotonic() - start


def step(i: int) -> str:
    """HHMM of the (i+1)-th cut after the first, 10 minutes apart from 02:00."""
    minutes = 10 * (i + 1)
    return f"{2 + minutes // 60:02d}{minutes % 60:02d}"


def push_round(lab: Lab, names, registry, signed, ledger, sessions: int, known) -> dict:
    before = rx_bytes(lab, names)
    t = time.monotonic()
    results = publish(registry, signed, ledger, activation_timeout=300, timeout=30,
                      sessions=sessions, known=known)
    ours_s = time.monotonic() - t
    wire = {n: v - before[n] for n, v in rx_bytes(lab, names).items()}
    if any(r.result != "activated" for r in results):
        raise SystemExit(f"delta push failed: {[r for r in results if r.result != 'activated']}")
    transfer = max(sum(r.phases.get(k, 0) for k in TRANSFER_PHASES) for r in results)
    return {"results": results, "ours_s": ours_s, "transfer_s": transfer, "ours_wire": wire}


def slowest_phases(got: dict) -> str:
    """The transfer phases of the difusor that set the round's transfer time."""
    worst = max(got["results"], key=lambda r: sum(r.phases.get(k, 0) for k in TRANSFER_PHASES))
    return (f"{worst.difusor} " + " ".join(f"{k} {worst.phases.get(k, 0):.2f}"
                                           for k in TRANSFER_PHASES)
            + f" (delta base: the {worst.delta_base}'s copy)")


def rsync_round(lab: Lab, names, cut: Path) -> dict:
    before = rx_bytes(lab, names)
    t = time.monotonic()
    parallel(lambda n: rsync(lab, cut, n), names)
    rsync_s = time.monotonic() - t
    wire = {n: v - before[n] for n, v in rx_bytes(lab, names).items()}
    parallel(lambda n: lab.run(n, "true", check=True), names)  # masters open
    t = time.monotonic()
    parallel(lambda n: rsync(lab, cut, n, "rsync-master", master=True), names)
    return {"rsync_s": rsync_s, "master_s": time.monotonic() - t, "rsync_wire": wire}


def activation_seconds(lab: Lab, name: str, cut_id: str) -> tuple[float, int, int]:
    for _ in range(20):  # the journal may be a moment behind the verdict
        log = lab.run(name, "sudo journalctl -q -t prep-activator -o cat --no-pager").stdout
        m = re.search(rf"activated {cut_id} \((\d+) files, (\d+) new, ([\d.]+) s\)", log)
        if m:
            break
        time.sleep(0.5)
    else:
        raise SystemExit(f"{name}: no activation of {cut_id} in the journal")
    return float(m.group(3)), int(m.group(1)), int(m.group(2))


def mb(n):
    return f"{n / 1e6:.1f} MB"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--difusores", type=int, default=10)
    ap.add_argument("--actas", type=int, default=4400)
    ap.add_argument("--image-kb", type=int, default=100)
    ap.add_argument("--name", default=os.environ.get("PREP_LAB_NAME", "pipe"))
    ap.add_argument("--subnet", default=os.environ.get("PREP_LAB_SUBNET", "10.85.0.0/24"))
    ap.add_argument("--rounds", type=int, default=3, choices=range(1, 6),
                    help="following cuts pushed by both sides (medians reported)")
    ap.add_argument("--sessions", type=int, default=4,
                    help="SFTP channels per difusor (prep-iac publish --sessions)")
    ap.add_argument("--keep", action="store_true", help="keep the lab afterwards")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("the benchmark boots lab hosts: run it as root")

    # Every lab host's systemd shares root's inotify instances here; path units need some.
    knob = Path("/proc/sys/fs/inotify/max_user_instances")
    if int(knob.read_text()) < 8192:
        knob.write_text("8192")
    work = Path(tempfile.mkdtemp(prefix="prep-bench-publish-"))
    lab = Lab.fresh(args.name, args.subnet)
    try:
        t = time.monotonic()
        lab.up(difusores=args.difusores, publishers=1)
        deploy(lab)
        names = sorted(n for n in lab.hosts if n.startswith("difusor-"))
        parallel(lambda n: lab.run(n, "sudo apt-get install -y -q rsync", check=True,
                                   timeout=600), names)
        print(f"lab of {len(names)} difusores up and deployed in {time.monotonic() - t:.0f} s")

        first = generate(work / "cortes", args.actas, args.image_kb)
        second = following(first, args.image_kb)
        m1, m2 = manifest.build(first), manifest.build(second)
        changed = delta.missing(m2, delta.have_of_manifest(m1))
        changed_bytes = sum(e.size for e in changed)
        print(f"cut 1 {first.name}: {len(m1.entries)} files, {mb(m1.total_bytes)}")
        print(f"cut 2 {second.name}: {len(m2.entries)} files, {len(changed)} new or changed, "
              f"{mb(changed_bytes)} changed")

        registry = from_inventory(load_inventory(lab.inventory_path))
        registry = dataclasses.replace(
            registry, difusores=tuple(d for d in registry.difusores if d.name in names))
        ledger = Ledger(work / "ledger.sqlite", registry.period_s)

        # 1. the first, full push (reference) — and the same cut as rsync's starting point
        signed_dir = work / "firmados"  # prepare's cache, as the publisher service keeps it
        s1 = prepare(first, first.name, registry, cache_dir=signed_dir)
        t = time.monotonic()
        r1 = publish(registry, s1, ledger, activation_timeout=300, timeout=30)
        full_s = time.monotonic() - t
        if any(r.result != "activated" for r in r1):
            raise SystemExit(f"first push failed: {[r for r in r1 if r.result != 'activated']}")
        parallel(lambda n: rsync(lab, first, n), names)

        # 2. each round: a following cut, pushed by us and by rsync (each its own SSH
        #    connection, then again through the open master connections, to a copy), N in
        #    parallel; which side goes first alternates, the medians are reported
        parallel(lambda n: lab.run(n, "cp -al rsync-bench rsync-master", check=True), names)
        rounds, prev = [], first
        for i in range(args.rounds):
            cut = second if i == 0 else following(prev, args.image_kb, step(i))
            signed = prepare(cut, cut.name, registry, cache_dir=signed_dir)
            known = known_from_cache(signed_dir, but=cut.name)  # what the service passes
            sides = [(push_round, (lab, names, registry, signed, ledger, args.sessions, known)),
                     (rsync_round, (lab, names, cut))]
            got = {}
            for side, side_args in (sides if i % 2 == 0 else sides[::-1]):
                # Each side starts with the disk clean: rsync leaves ~0.5 GB unwritten (its
                # two copies to 10 hosts, no fsync), which the next side would pay for.
                os.sync()
                got.update(side(*side_args))
            rounds.append(got)
            print(f"round {i + 1} ({cut.name}): ours {got['ours_s']:.2f} s end to end, "
                  f"{got['transfer_s']:.2f} s transfer; rsync {got['rsync_s']:.2f} s, via "
                  f"master {got['master_s']:.2f} s"
                  f"{' (rsync first)' if i % 2 else ''}; slowest push {slowest_phases(got)}")
            prev = cut
        r2 = rounds[0]["results"]
        ours_wire, rsync_wire = rounds[0]["ours_wire"], rounds[0]["rsync_wire"]
        ours_payload = {r.difusor: r.sent_bytes for r in r2}
        ours_s = median(r["ours_s"] for r in rounds)
        ours_transfer_s = median(r["transfer_s"] for r in rounds)
        rsync_s = median(r["rsync_s"] for r in rounds)
        rsync_master_s = median(r["master_s"] for r in rounds)
        ratio_transfer = median(r["transfer_s"] / r["rsync_s"] for r in rounds)
        ratio_master = median(r["transfer_s"] / r["master_s"] for r in rounds)
        ratio_end = median(r["ours_s"] / r["rsync_s"] for r in rounds)

        phases = {k: sum(r.phases.get(k, 0) for r in r2) / len(r2) for k in r2[0].phases}
        transfer = [sum(r.phases.get(k, 0) for k in TRANSFER_PHASES) for r in r2]
        act_phases = [json.loads(lab.run(n, f"sudo cat {LAST_RESULT}")
                                 .stdout).get("fases", {}) for n in names]
        act_full = [activation_seconds(lab, n, first.name) for n in names]
        act_delta = [activation_seconds(lab, n, second.name) for n in names]

        # 4. one more cut to one difusor alone: activation on a difusor's own CPU and disk,
        #    as in production (above, 10 lab hosts activate at once on this machine's cores)
        third = following(prev, args.image_kb, step(args.rounds))
        one = dataclasses.replace(registry, difusores=registry.difusores[:1])
        t = time.monotonic()
        r3 = publish(one, prepare(third, third.name, one, cache_dir=signed_dir), ledger,
                     activation_timeout=300, known=known_from_cache(signed_dir, but=third.name))
        alone_s = time.monotonic() - t
        if r3[0].result != "activated":
            raise SystemExit(f"third push failed: {r3[0]}")
        act_alone = activation_seconds(lab, names[0], third.name)
        alone_phases = json.loads(lab.run(names[0], f"sudo cat {LAST_RESULT}")
                                  .stdout).get("fases", {})
    finally:
        if not args.keep:
            lab.destroy()
        shutil.rmtree(work, ignore_errors=True)

    ours_b = sum(ours_wire.values()) / len(names)
    rsync_b = sum(rsync_wire.values()) / len(names)
    payload = sum(ours_payload.values()) / len(names)
    worst_delta = max(a[0] for a in act_delta)
    worst_full = max(a[0] for a in act_full)
    link_s = ours_b * 8 / (LINK_MBPS * 1e6)
    print()
    print(f"{'':28}{'ours':>14}{'rsync':>14}")
    print(f"{'bytes on the wire/difusor':28}{mb(ours_b):>14}{mb(rsync_b):>14}")
    print(f"medians of {len(rounds)} rounds, {len(names)} difusores in parallel:")
    print(f"{'end to end':28}{ours_s:>13.2f}s{rsync_s:>13.2f}s")
    print(f"{'transfer (see above)':28}{ours_transfer_s:>13.2f}s{rsync_s:>13.2f}s")
    print(f"{'rsync via open master':28}{'':>14}{rsync_master_s:>13.2f}s")
    print(f"changed bytes {mb(changed_bytes)}; our SFTP payload {mb(payload)}/difusor "
          f"(incl. manifest); first full push {full_s:.1f} s for {len(names)} difusores")
    print(f"activation: {act_delta[0][1]} files ({act_delta[0][2]} new) worst {worst_delta:.2f} s;"
          f" first cut ({act_full[0][1]} files, all new, copied and hashed) worst "
          f"{worst_full:.2f} s")
    print("push phases, first round (mean s): "
          + ", ".join(f"{k} {v:.2f}" for k, v in phases.items()))
    print(f"push transfer (connect..manifest) per difusor, first round: mean "
          f"{sum(transfer) / len(transfer):.2f} s, slowest {max(transfer):.2f} s")
    print("activator phases (worst s): " + ", ".join(
        f"{k} {max(p.get(k, 0) for p in act_phases):.2f}" for k in act_phases[0]))
    print(f"one difusor alone: push of the next cut {alone_s:.1f} s, activation of "
          f"{act_alone[1]} files ({act_alone[2]} new) {act_alone[0]:.2f} s; phases: "
          + ", ".join(f"{k} {v:.2f}" for k, v in alone_phases.items()))
    print(f"on a {LINK_MBPS} Mbit/s link: {link_s:.1f} s per difusor; "
          f"{link_s * len(names):.0f} s for {len(names)} difusores sharing one such uplink")
    ratio_changed = ours_b / changed_bytes
    print(f"FIGURE wire bytes / changed bytes: {ratio_changed:.3f} (aim <= {AIM_BYTES})")
    print(f"FIGURE wire bytes ours / rsync: {ours_b / rsync_b:.3f}")
    print(f"FIGURE transfer time ours / rsync ({len(names)} difusores, each side its own "
          f"connection, median of {len(rounds)}): {ratio_transfer:.2f} (aim <= 1)")
    print(f"FIGURE transfer time ours / rsync via an open master connection: "
          f"{ratio_master:.2f}")
    print(f"FIGURE end to end ours (activated everywhere) / rsync ({len(names)} difusores): "
          f"{ratio_end:.2f}")
    print(f"FIGURE activation of a {act_alone[1]}-file cut (one difusor): {act_alone[0]:.2f} s "
          f"(aim < {AIM_ACTIVATION_S})")
    print(f"FIGURE activation, {len(names)} lab difusores at once on this machine (worst): "
          f"{worst_delta:.2f} s")
    print(f"FIGURE seconds on a {LINK_MBPS} Mbit/s link per difusor: {link_s:.1f}")
    ok = (ratio_changed <= AIM_BYTES and ratio_transfer <= 1
          and act_alone[0] < AIM_ACTIVATION_S)
    print("aims met" if ok else "aims NOT met (see figures)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
