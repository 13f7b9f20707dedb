"""Benchmark of a national, multi-election cut through the pipeline.

    .venv/bin/python bench/nacional.py [--casillas 170182] [--keep DIR]

For the federal catalogue (32 entities, 300 districts, 170,182 casillas, PRES + SEN + DIP:
510,546 actas), without a lab:
  * drawing the night (the generator's one-off cost) and writing one cut: wall and CPU,
    the cut's files and bytes, the generator's peak memory;
  * `corte check` of that cut (every election's package, rows, summary and site);
  * the publisher's own code on it: the manifest (prep_iac/onhost/publisher/manifest.py:
    hashing every file) and its signature (signing.py, ssh-keygen -Y sign with a fresh
    ed25519 key, as the publisher signs), with the manifest's size;
  * the first push, made before the night (during the drills): the whole cut, in seconds
    at 10 Mbit/s per difusor;
  * each period's delta: what the publisher sends a difusor serving the previous cut
    (delta.missing: by SHA-256 and size, as the activator reuses content), for three
    pairs of consecutive cuts 10 minutes apart (early, peak, morning), in bytes and in
    seconds at 10 Mbit/s, against the 10-minute period.
  * activation: the activator's own code (prep_iac/onhost/activator.py) on a difusor tree
    in a temp dir of this machine (no lab): the first cut whole, then the next cut as its
    delta; the aim is under 5 s for a national cut.
  * with --lab (root): the same two cuts through the real pipeline to a lab difusor
    deployed as in production (jail, host programs, activator): the publisher's engine
    signs and pushes each (the first whole, the next as its delta), the difusor's
    activator verifies and switches, and its journal gives the activation's seconds. The
    lab's link is not held to 10 Mbit/s: the push's wall time there is the lab's.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prep_iac import contract
from prep_iac.corte import nacional_catalogue as nat
from prep_iac.corte.nacional import NationalElection
from prep_iac.corte.nacional_check import check_national
from prep_iac.corte.nacional_cut import write_national_cut
from prep_iac.onhost import activator as act
from prep_iac.onhost.publisher import delta, manifest, signing
from prep_iac.onhost.publisher.stamp import new_stamp

LAB = (os.environ.get("PREP_LAB_NAME", "nac"), os.environ.get("PREP_LAB_SUBNET", "10.86.0.0/24"))

LINK_BPS = 10e6  # 10 Mbit/s per difusor
PERIOD_S = 600
PAIRS = [("2024-06-02 21:00", "2024-06-02 21:10"), ("2024-06-03 00:00", "2024-06-03 00:10"),
         ("2024-06-03 05:50", "2024-06-03 06:00")]


def _timed(fn):
    w, c = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - w, time.process_time() - c


def _at_link(nbytes: int) -> float:
    return nbytes * 8 / LINK_BPS


def _activations(root: Path, key: Path, signer: str, cuts: list[tuple[Path, manifest.Manifest]]):
    """(seconds, new files) of the activator taking each cut in turn, each sent as the push
    engine sends it: what the served cut lacks, the signed manifest, the marker."""
    jail, served = root / "difusor/jail", root / "difusor/prep"
    incoming, answers = jail / contract.INCOMING, jail / contract.JAIL_ESTADO
    for d in (incoming, answers, served / "cortes"):
        d.mkdir(parents=True)
    allowed = root / "difusor/allowed_signers"
    allowed.write_text(signing.allowed_signers([signer]))
    cfg = act.ActivatorConfig(jail=str(jail), root=str(served), state_dir=str(root / "difusor/st"),
                              allowed_signers=str(allowed), reserve_bytes=0, watchdog_unit="",
                              process="prep-bench", prep_opens="2024-06-02T18:00:00-06:00")
    have, out = frozenset(), []
    for folder, m in cuts:
        signed = m.stamped(new_stamp(root / "difusor/seq", "prep-bench", contract.PRODUCTION)
                           .to_json())
        data = signed.to_bytes()
        for e in delta.missing(signed, have):
            dst = incoming / m.cut_id / e.path
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(folder / e.path, dst)
        (incoming / contract.manifest_name(m.cut_id)).write_bytes(data)
        (incoming / contract.signature_name(m.cut_id)).write_bytes(signing.sign(data, key))
        (incoming / contract.marker_name(m.cut_id)).write_text("bench\n")
        ok, w, _ = _timed(lambda: act.run(cfg))
        assert ok, (answers / contract.JAIL_LAST_RESULT).read_text()
        out.append((w, len(delta.missing(signed, have))))
        have = delta.have_of_manifest(m)
    return out


def _on_lab(root: Path, cuts: list[Path]) -> list[tuple[float, int, float, int]]:
    """(activation s, new files, push wall s, bytes sent) of each cut, pushed in turn by the
    publisher's engine to one lab difusor; the lab is destroyed at the end, also on failure."""
    import dataclasses

    from publish import activation_seconds, deploy

    from prep_iac.inventory import load_inventory
    from prep_iac.lab import Lab
    from prep_iac.onhost.publisher.ledger import Ledger
    from prep_iac.onhost.publisher.run import known_from_cache, prepare, publish
    from prep_iac.publish.registry import from_inventory

    lab = Lab.fresh(*LAB)
    try:
        lab.up(difusores=1, publishers=1)  # the registry is read from a publisher host
        deploy(lab)
        registry = from_inventory(load_inventory(lab.inventory_path))
        registry = dataclasses.replace(registry, difusores=registry.difusores[:1])
        name = registry.difusores[0].name
        ledger = Ledger(root / "ledger.sqlite", registry.period_s)
        cache, out = root / "firmados", []
        for folder in cuts:
            signed = prepare(folder, folder.name, registry, cache_dir=cache)
            t = time.monotonic()
            result, = publish(registry, signed, ledger, activation_timeout=300, timeout=30,
                              known=known_from_cache(cache, but=folder.name))
            wall = time.monotonic() - t
            if result.result != "activated":
                raise SystemExit(f"{folder.name} on {name}: {result.result}: {result.reason}")
            secs, _, new = activation_seconds(lab, name, folder.name)
            out.append((secs, new, wall, result.sent_bytes))
        return out
    finally:
        lab.destroy()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--casillas", type=int, default=nat.DEFAULT_CASILLAS)
    ap.add_argument("--keep", type=Path, help="keep the output here instead of a temp dir")
    ap.add_argument("--lab", action="store_true",
                    help="also push the cuts to a lab difusor (root; boots and destroys "
                         f"lab {LAB[0]} on {LAB[1]}, or PREP_LAB_NAME/PREP_LAB_SUBNET)")
    args = ap.parse_args()
    if args.lab and os.geteuid() != 0:
        raise SystemExit("--lab boots a lab host: run it as root")
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-nacional-"))
    root.mkdir(parents=True, exist_ok=True)
    rows, figures = [], []
    try:
        night, w, c = _timed(lambda: NationalElection(seed=7, casillas=args.casillas))
        rows.append((f"draw the night ({night.actas:,} actas)", w, c, "once per process"))
        figures.append(("nacional actas", f"{night.actas}"))
        figures.append(("nacional draw the night cpu (s)", f"{c:.1f}"))

        key = root / "firma"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
                       check=True)
        signer = [key.with_suffix(".pub").read_text().strip()]
        manifests = {}
        cut_cpu = []
        for earlier, later in PAIRS:
            for at in (earlier, later):
                if at in manifests:
                    continue
                folder, w, c = _timed(lambda a=at: write_national_cut(night, a, root / "cortes"))
                cut_cpu.append((w, c))
                m, wm, cm = _timed(lambda f=folder: manifest.build(f))
                manifests[at] = (folder, m, w, c, wm, cm)
        # The morning cut: the largest (almost every acta captured).
        folder, m, w, c, wm, cm = manifests[PAIRS[-1][1]]
        files, size = len(m.entries), m.total_bytes
        rows.append((f"write one cut ({folder.name}: {files} files, {size / 1e6:.1f} MB)", w, c,
                     "3 packages + site"))
        figures += [("nacional cut write wall (s)", f"{w:.1f}"),
                    ("nacional cut write cpu (s)", f"{c:.1f}"),
                    ("nacional cut files", f"{files}"),
                    ("nacional cut MB", f"{size / 1e6:.1f}")]
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rows.append((f"peak memory of the generator: {rss:.0f} MB", 0.0, None, ""))
        figures.append(("nacional generator peak memory (MB)", f"{rss:.0f}"))

        report, w, c = _timed(lambda: check_national(folder))
        rows.append((f"corte check ({'ok' if report.ok else 'PROBLEMS'})", w, c,
                     f"{len(report.elections)} elections"))
        figures.append(("nacional corte check cpu (s)", f"{c:.1f}"))
        if not report.ok:
            print(report.findings[:5], file=sys.stderr)
            return 1

        rows.append(("manifest: hash every file", wm, cm, ""))
        state = root / "estado"
        stamped = m.stamped(new_stamp(state, "prep-bench", contract.DRILL).to_json())
        data = stamped.to_bytes()
        sig, w, c = _timed(lambda: signing.sign(data, key))
        ok, wv, cv = _timed(lambda: signing.verify(data, sig, signer))
        assert ok, "the signature does not verify"
        rows.append((f"manifest: sign ({len(data) / 1e3:.1f} kB, ssh-keygen -Y sign)", w, c, ""))
        rows.append(("manifest: verify (as the activator does)", wv, cv, ""))
        figures += [("nacional manifest kB", f"{len(data) / 1e3:.1f}"),
                    ("nacional manifest hash wall (s)", f"{wm:.2f}"),
                    ("nacional manifest sign wall (s)", f"{w:.3f}")]

        pair = [manifests[at][:2] for at in PAIRS[-1]]
        (t_first, n_first), (t_next, n_next) = _activations(root, key, signer[0], pair)
        rows.append((f"activation, first cut whole ({n_first} files, local tree)", t_first,
                     None, f"{t_first / 5:.2f}x the 5 s aim"))
        rows.append((f"activation, next cut as a delta ({n_next} new files)", t_next, None,
                     f"{t_next / 5:.2f}x the 5 s aim"))
        figures += [("nacional activation first cut, local (s)", f"{t_first:.2f}"),
                    ("nacional activation next cut, local (s)", f"{t_next:.2f}")]

        if args.lab:
            on_lab = _on_lab(root, [folder for folder, _ in pair])
            for what, (secs, new, wall, sent) in zip(("first cut whole", "next cut as a delta"),
                                                     on_lab):
                what = (f"lab difusor, {what}: pushed {sent / 1e6:.1f} MB in {wall:.1f} s; "
                        f"activation ({new} new files)")
                rows.append((what, secs, None, f"{secs / 5:.2f}x the 5 s aim"))
            figures += [("nacional activation first cut, lab difusor (s)", f"{on_lab[0][0]:.2f}"),
                        ("nacional activation next cut, lab difusor (s)", f"{on_lab[1][0]:.2f}")]

        first = _at_link(size)
        rows.append((f"first push, before the night: {size / 1e6:.1f} MB at 10 Mbit/s", first,
                     None, "during the drills"))
        figures.append(("nacional first push at 10 Mbit/s (s)", f"{first:.0f}"))
        for earlier, later in PAIRS:
            _, m_a, *_ = manifests[earlier]
            _, m_b, *_ = manifests[later]
            send = delta.missing(m_b, delta.have_of_manifest(m_a))
            nbytes = sum(e.size for e in send)
            secs = _at_link(nbytes)
            label = f"{later[-5:]}"
            what = (f"delta {earlier[-5:]} -> {later[-5:]}: {len(send)} files, "
                    f"{nbytes / 1e6:.1f} MB at 10 Mbit/s")
            rows.append((what, secs, None, f"{secs / PERIOD_S:.2f}x the 10-min period"))
            figures.append((f"nacional delta {label} MB", f"{nbytes / 1e6:.1f}"))
            figures.append((f"nacional delta {label} at 10 Mbit/s (s)", f"{secs:.1f}"))

        width = max(len(r[0]) for r in rows)
        print(f"{'step'.ljust(width)}  {'wall s':>7}  {'cpu s':>6}  note")
        for name, secs, cpu, note in rows:
            cpu_s = "" if cpu is None else f"{cpu:6.2f}"
            print(f"{name.ljust(width)}  {secs:7.2f}  {cpu_s:>6}  {note}")
        walls = [w for w, _ in cut_cpu]
        cpus = [c for _, c in cut_cpu]
        print(f"({len(cut_cpu)} cuts written: wall {min(walls):.1f}–{max(walls):.1f} s, "
              f"cpu {min(cpus):.1f}–{max(cpus):.1f} s; {os.cpu_count()} cores, load average "
              f"{os.getloadavg()[0]:.1f} at the end; output in {root})")
        for name, value in figures:
            print(f"FIGURE {name}: {value}")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
