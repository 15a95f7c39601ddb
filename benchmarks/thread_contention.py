"""Why the run's stages do not overlap fully on a small machine: the same metric work in two threads of
one process against two processes.

    python benchmarks/thread_contention.py [--seconds 5] [--rounds 3] [--size 256] [--json FILE]

Each worker computes SSIM (the run's metric stage, one torch thread) on a batch of 16 random images for
``--seconds`` and counts images. Per round, interleaved: one worker alone, two threads in one process,
two processes; the median of the rounds' totals is printed. Two processes reaching about twice one
worker while two threads fall short means the threads of one process contend (for the interpreter lock
and the allocator), which overlap within the runner's single process cannot avoid.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import threading
import time
from pathlib import Path


def work(seconds: float, size: int) -> float:
    """Images per second of SSIM on one thread for ``seconds``."""
    import torch

    from inpaintbench.metrics.ssim import ssim

    torch.set_num_threads(1)
    a, b = torch.rand(16, 3, size, size), torch.rand(16, 3, size, size)
    ssim(a, b)
    start, n = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        ssim(a, b)
        n += 16
    return n / (time.perf_counter() - start)


def _in_process(seconds: float, size: int, queue: multiprocessing.Queue) -> None:
    queue.put(work(seconds, size))


def threads(count: int, seconds: float, size: int) -> float:
    rates: list[float] = []
    pool = [threading.Thread(target=lambda: rates.append(work(seconds, size))) for _ in range(count)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return sum(rates)


def processes(count: int, seconds: float, size: int) -> float:
    queue: multiprocessing.Queue = multiprocessing.Queue()
    pool = [multiprocessing.Process(target=_in_process, args=(seconds, size, queue)) for _ in range(count)]
    for p in pool:
        p.start()
    total = sum(queue.get() for _ in pool)
    for p in pool:
        p.join()
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    setups = {
        "1 thread": lambda: threads(1, args.seconds, args.size),
        "2 threads, 1 process": lambda: threads(2, args.seconds, args.size),
        "2 processes": lambda: processes(2, args.seconds, args.size),
    }
    totals: dict[str, list[float]] = {name: [] for name in setups}
    for _ in range(args.rounds):
        for name, run in setups.items():
            totals[name].append(run())
    median = {name: statistics.median(v) for name, v in totals.items()}
    for name, rate in median.items():
        print(f"{name:<22} {rate:7.1f} images/s of SSIM at {args.size} px (median of {args.rounds})")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        doc = {"command": "python benchmarks/thread_contention.py", "totals": totals, "median": median}
        args.json.write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
