"""One run on CPU as one process and as a 2-process torchrun (gloo): wall time, and the same results.

    python benchmarks/torchrun_eval.py [--n 200] [--size 256] [--nproc 2] [--rounds 3] [--data DIR]
        [--models mean_fill,biharmonic] [--no-images] [--json benchmarks/results/cpu/torchrun_eval.json]

Both run ``inpaintbench run --model MODELS --metrics psnr,ssim --masks center,random`` on N photos of
683 x 512 (``photo_folder.py``) through the command line (start-up included), interleaved over
``--rounds``; the script prints the median wall time of each, the speed-up, and whether results.csv and
summary.csv are byte for byte the same (they must be).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from photo_folder import make_photos


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(command: list[str]) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--nproc", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--models", default="mean_fill,biharmonic")
    parser.add_argument("--no-images", action="store_true")
    parser.add_argument("--data", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = make_photos(args.n, args.data or root / "photos")
        run = ["run", "--model", args.models, "--metrics", "psnr,ssim", "--masks", "center,random"]
        run += ["--dataset", f"folder:{data}", "--image-size", str(args.size), "--no-progress"]
        run += ["--no-images"] if args.no_images else []
        walls: dict[str, list[float]] = {"1 process": [], f"torchrun {args.nproc}": []}
        same = []
        for round_ in range(args.rounds):
            one, many = root / f"one-{round_}", root / f"many-{round_}"
            walls["1 process"].append(timed([sys.executable, "-m", "inpaintbench", *run, "--out", str(one)]))
            walls[f"torchrun {args.nproc}"].append(
                timed(
                    [
                        sys.executable,
                        "-m",
                        "torch.distributed.run",
                        "--nproc-per-node",
                        str(args.nproc),
                        "--master-addr",
                        "127.0.0.1",
                        "--master-port",
                        str(_port()),
                        "-m",
                        "inpaintbench",
                        *run,
                        "--out",
                        str(many),
                    ]
                )  # fmt: skip
            )
            same.append(
                all(
                    (one / name).read_bytes() == (many / name).read_bytes()
                    for name in ("results.csv", "summary.csv")
                )
            )
            print(
                f"  round {round_ + 1}: " + ", ".join(f"{k} {v[-1]:.1f} s" for k, v in walls.items()),
                flush=True,
            )
    medians = {k: statistics.median(v) for k, v in walls.items()}
    single, multi = medians.values()
    print(
        f"{args.n} photos at {args.size} px, {args.models}, psnr,ssim, center,random"
        f"{', no images' if args.no_images else ''}, {os.cpu_count()} CPUs (median of {args.rounds}): "
        f"1 process {single:.1f} s, torchrun --nproc-per-node {args.nproc} {multi:.1f} s "
        f"({single / multi:.2f}x); results.csv and summary.csv identical in every round: {all(same)}"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        doc = {
            "command": "python benchmarks/torchrun_eval.py " + " ".join(sys.argv[1:]),
            "cpus": os.cpu_count(),
            "wall_s": walls,
            "median_s": medians,
            "speedup": single / multi,
            "identical_results": same,
        }
        args.json.write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
