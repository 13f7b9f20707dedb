"""Benchmark of the PREP cut generator (`prep_iac.corte`).

    .venv/bin/python bench/corte.py [--actas 4000] [--image-kb 24] [--keep DIR]

Times, for an election of 4,000 actas with images:
  * one cut from cold (every image of the cut written for the first time),
  * the next cut (images reused from the store: what a drill pays every period),
  * a whole 12-hour series, 18:00 to 06:00 at 10-minute cuts (73 cuts), from cold,
and prints each against the aim (a cut in under 2 s, so a drill at 10-second periods is
never late), plus the cold cut against a baseline measured in the same run: plain Python
writing the same number of files of the same size (the disk's floor).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prep_iac.corte import Election, series_times, write_cut

AIM_S = 2.0


def _tree(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def _disk_baseline(root: Path, count: int, size: int) -> float:
    data = os.urandom(size)
    target = root / "baseline"
    target.mkdir()
    started = time.perf_counter()
    for i in range(count):
        with open(target / f"{i}.png", "wb") as f:
            f.write(data)
    elapsed = time.perf_counter() - started
    shutil.rmtree(target)
    return elapsed


def _timed(fn):
    """Wall and CPU seconds of ``fn()``: on a shared machine the wall time alone misleads."""
    w, c = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - w, time.process_time() - c


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--actas", type=int, default=4000)
    ap.add_argument("--image-kb", type=int, default=24)
    ap.add_argument("--keep", type=Path, help="keep the output here instead of a temp dir")
    ap.add_argument("--no-series", action="store_true", help="skip the 12-hour series")
    args = ap.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-corte-"))
    root.mkdir(parents=True, exist_ok=True)
    rows = []
    try:
        election, t_election, c = _timed(
            lambda: Election(seed=7, actas=args.actas, image_kb=args.image_kb))
        rows.append(("election (catalogue, votes, times)", t_election, c, ""))

        # One cut from cold: the morning cut, ~95% of actas captured, every image new.
        folder, t_cold, c_cold = _timed(
            lambda: write_cut(election, "2021-06-07 06:00", root / "one"))
        files, size = _tree(folder)
        rows.append((f"one cut, cold ({files} files, {size / 1e6:.0f} MB)", t_cold, c_cold,
                     f"{t_cold / AIM_S:.2f}× aim"))

        _, t_next, c = _timed(lambda: write_cut(election, "2021-06-07 06:10", root / "one"))
        rows.append(("next cut (images reused)", t_next, c, f"{t_next / AIM_S:.2f}× aim"))

        _, t, c = _timed(lambda: write_cut(election, "2021-06-07 06:10", root / "noimg",
                                           images=False))
        rows.append(("one cut, --no-images (hashes cached)", t, c, ""))

        n_images = sum(1 for _ in (folder / "actas").iterdir())
        img_size = next((folder / "actas").iterdir()).stat().st_size
        _, t_base, c = _timed(lambda: _disk_baseline(root, n_images, img_size))
        rows.append((f"baseline: write {n_images} files of {img_size // 1024} KB", t_base, c,
                     f"cold cut = {t_cold / t_base:.1f}× baseline"))

        # A whole night, from cold, as a drill would produce it.
        fresh = Election(seed=7, actas=args.actas, image_kb=args.image_kb)
        times = [] if args.no_series else series_times(fresh, "18:00", "06:00", "10m")
        per_cut = [0.0]
        t, c = time.perf_counter(), time.process_time()
        for moment in times:
            _, w, _ = _timed(lambda m=moment: write_cut(fresh, m, root / "serie"))
            per_cut.append(w)
        t_series, c_series = time.perf_counter() - t, time.process_time() - c
        worst = max(per_cut)
        if times:
            rows.append((f"series 18:00–06:00 every 10 min ({len(times)} cuts)", t_series,
                         c_series, f"mean {t_series / len(times):.2f} s/cut"))
            rows.append(("  slowest cut of the series", worst, None, f"{worst / AIM_S:.2f}× aim"))

        width = max(len(r[0]) for r in rows)
        print(f"{'step'.ljust(width)}  {'wall s':>7}  {'cpu s':>6}  note")
        for name, secs, cpu, note in rows:
            cpu_s = "" if cpu is None else f"{cpu:6.2f}"
            print(f"{name.ljust(width)}  {secs:7.2f}  {cpu_s:>6}  {note}")
        load = os.getloadavg()[0]
        print(f"(aim: a cut in under {AIM_S:.0f} s; {os.cpu_count()} cores, load average "
              f"{load:.1f} at the end; output in {root})")
        print(f"FIGURE cut cold 4000 actas with images (s): {t_cold:.2f}")
        print(f"FIGURE cut cold / 2 s aim: {t_cold / AIM_S:.2f}")
        print(f"FIGURE cut cold / disk baseline: {t_cold / t_base:.2f}")
        print(f"FIGURE next cut (s): {t_next:.2f}")
        if times:
            print(f"FIGURE series {len(times)} cuts (s): {t_series:.1f}")
            print(f"FIGURE slowest series cut / 2 s aim: {worst / AIM_S:.2f}")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
