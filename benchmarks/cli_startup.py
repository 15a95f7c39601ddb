"""How long the torch-free commands take: `inpaintbench --help`, `plugins`, `list models`, and a `run`
whose model name is misspelt (refused before torch is imported).

Usage: python benchmarks/cli_startup.py [--repeat 5]
Prints the best and median wall time of each command over the repeats.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = (
    ["--help"],
    ["plugins"],
    ["list", "models"],
    ["list", "metrics"],
    ["run", "--model", "mean_fil", "--out", "never-written"],
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    for argv in COMMANDS:
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "inpaintbench.cli", *argv], capture_output=True)
            if done.returncode != (2 if argv[0] == "run" else 0):
                raise SystemExit(f"inpaintbench {' '.join(argv)}: {done.stderr.decode()}")
            times.append(time.perf_counter() - t0)
        print(
            f"inpaintbench {' '.join(argv):<14} best {min(times):.3f} s"
            f"  median {statistics.median(times):.3f} s"
        )


if __name__ == "__main__":
    main()
