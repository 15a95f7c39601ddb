"""Peak memory of a run against the number of images: N and 10N photos at 512 px should cost the same.

    python benchmarks/eval_memory.py [--n 100] [--size 512] [--rounds 3] [--batch-size 16] [--data DIR]
        [--json benchmarks/results/cpu/eval_memory.json]

Runs ``inpaintbench run --model mean_fill --metrics psnr --masks center,random --no-images`` on the first
N and the first 10N photos of a folder of 683 x 512 JPEGs (``photo_folder.py``), each in a fresh process,
interleaved over ``--rounds``, and prints each run's peak resident set size (the process's own
``ru_maxrss``) and wall time, median over rounds, and the ratio 10N / N (the goal is at most 1.15).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from photo_folder import make_photos

#: Runs the CLI in this process and prints its own peak RSS (KiB on Linux) on the last line.
CHILD = (
    "import resource, sys\n"
    "from inpaintbench.cli import main\n"
    "rc = main(sys.argv[1:])\n"
    "print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, flush=True)\n"
    "sys.exit(rc)\n"
)


def run_once(data: Path, n: int, size: int, batch: int, out: Path) -> tuple[float, float]:
    """(peak RSS in MB, wall seconds) of one run over the first ``n`` photos."""
    args = ["run", "--model", "mean_fill", "--metrics", "psnr", "--masks", "center,random"]
    args += ["--dataset", f"folder:{data}", "--image-size", str(size), "--limit", str(n)]
    args += ["--batch-size", str(batch), "--no-images", "--no-progress", "--out", str(out)]
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"run failed: {done.stderr}")
    peak_kb = int(done.stdout.strip().splitlines()[-1].split()[1])
    return peak_kb / 1024, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--data", type=Path, help="a folder of photos (made when it lacks them)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = make_photos(10 * args.n, args.data or Path(tmp) / "photos")
        peaks: dict[int, list[float]] = {args.n: [], 10 * args.n: []}
        walls: dict[int, list[float]] = {args.n: [], 10 * args.n: []}
        for _ in range(args.rounds):
            for n in peaks:
                out = Path(tmp) / f"run-{n}-{time.time_ns()}"
                peak, wall = run_once(data, n, args.size, args.batch_size, out)
                peaks[n].append(peak)
                walls[n].append(wall)
                print(f"  {n:>6} images: peak RSS {peak:7.1f} MB, {wall:6.1f} s", flush=True)
    small, large = (statistics.median(peaks[n]) for n in peaks)
    print(
        f"{args.n} vs {10 * args.n} images at {args.size} px (median of {args.rounds}): peak RSS "
        f"{small:.1f} vs {large:.1f} MB, ratio {large / small:.3f} (goal <= 1.15); "
        f"wall {statistics.median(walls[args.n]):.1f} vs {statistics.median(walls[10 * args.n]):.1f} s"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        doc = {
            "command": "python benchmarks/eval_memory.py " + " ".join(sys.argv[1:]),
            "cpus": os.cpu_count(),
            "size": args.size,
            "batch_size": args.batch_size,
            "peak_rss_mb": {str(n): v for n, v in peaks.items()},
            "wall_s": {str(n): v for n, v in walls.items()},
            "median_ratio": large / small,
        }
        args.json.write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
