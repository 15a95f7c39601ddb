"""Does ``precision=auto`` pick the faster precision here? The quick preset's training step in fp32 and in
bf16 autocast, side by side in one process.

The rule (``hardware.resolve_precision``) reads only the CPU's features (bf16 with AMX tiles or
AVX512-BF16, fp32 otherwise), so it cannot flip when the machine is busy; this benchmark checks it
against the clock on the machine it runs on. Both trainers start from the same weights and see the same
batches (the quick preset's centre network: channel-wise code, batch 32, crops of the ``samples``
training split at 256 px, quarter turns); each round times one step of each, the order alternating, so
load from other processes hits both alike. Reports the median and best step time of each, the ratio,
the CPU feature level, what ``auto`` picks and whether that is the faster one, and the weighted L2 of
both after the first steps (how far bf16 drifts from fp32).

On an AVX2 CPU a bf16 step takes over a minute, so rounds stop once ``--budget-s`` has passed (two at
least).

    python benchmarks/ce_precision.py [--rounds 5] [--warmup 1] [--budget-s 240] [--threads N] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch
from inpaintbench_context_encoder.config import PRESETS
from inpaintbench_context_encoder.data import Crops, batches, load_training_images
from inpaintbench_context_encoder.hardware import cpu_level, device_kind, keep_freed_memory, resolve_precision
from inpaintbench_context_encoder.step import TrainStep

from inpaintbench import get_registry

PRECISIONS = ("fp32", "bf16")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed steps of each precision, at most")
    parser.add_argument("--budget-s", type=float, default=240.0, help="no new round after this (2 at least)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps of each first")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's count)")
    parser.add_argument("--json", type=Path, help="write the result here too")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cpu = torch.device("cpu")
    keep_freed_memory()
    cfg = PRESETS["quick"]["center"]
    data = load_training_images(get_registry().get("dataset", "samples"), cfg.load_size)
    stream = batches(Crops(data.images, cfg.seed, None, dihedral=True), cfg.batch_size, 0, cpu, 0)
    trainers = {}
    for precision in PRECISIONS:
        torch.manual_seed(cfg.seed)
        trainers[precision] = TrainStep(replace(cfg, precision=precision), cpu)
    times: dict[str, list[float]] = {p: [] for p in PRECISIONS}
    l2: dict[str, list[float]] = {p: [] for p in PRECISIONS}
    began = time.perf_counter()
    for index in range(args.warmup + args.rounds):
        if len(times["fp32"]) >= 2 and time.perf_counter() - began > args.budget_s:
            break
        real, _ = next(stream)
        order = PRECISIONS if index % 2 == 0 else PRECISIONS[::-1]
        took = {}
        for precision in order:
            start = time.perf_counter()
            losses = trainers[precision](real)
            took[precision] = round(time.perf_counter() - start, 4)
            l2[precision].append(round(losses["g_l2"].item(), 6))
            if index >= args.warmup:
                times[precision].append(took[precision])
        what = "warm-up" if index < args.warmup else f"round {index + 1 - args.warmup}"
        print(f"{what}: " + ", ".join(f"{p} {took[p]} s" for p in order), flush=True)
    median = {p: statistics.median(times[p]) for p in PRECISIONS}
    faster = min(PRECISIONS, key=median.__getitem__)
    picked = resolve_precision("auto", cpu)
    result = {
        "cpu": cpu_model(),
        "cpu_level": cpu_level(),
        "device_kind": device_kind(cpu),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "shape": {"bottleneck": cfg.bottleneck, "batch_size": cfg.batch_size, "mode": cfg.mode},
        "rounds": len(times["fp32"]),
        "step_s": {p: {"median": round(median[p], 4), "best": min(t), "all": t} for p, t in times.items()},
        "bf16_speedup_median": round(median["fp32"] / median["bf16"], 3),
        "bf16_speedup_best": round(min(times["fp32"]) / min(times["bf16"]), 3),
        "g_l2_by_step": l2,
        "auto_picks": picked,
        "faster": faster,
        "auto_picks_the_faster": picked == faster,
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    return 0 if picked == faster else 1


if __name__ == "__main__":
    sys.exit(main())
