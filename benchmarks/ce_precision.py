"""Does ``precision=auto`` pick the faster precision here? The quick preset's training steps, of both the
networks it trains (centre and random-region, each at its own shapes and with its own masks), in fp32
and in bf16 autocast, side by side in one process.

The rule (``hardware.resolve_precision``) reads only the CPU's features (bf16 with AMX tiles or
AVX512-BF16, fp32 otherwise), so it cannot flip when the machine is busy; this benchmark checks it
against the clock on the machine it runs on. For each network the two trainers start from the same
weights and see the same batches (the preset's own code width, batch size, crops of the ``samples``
training split at its load size, augmentation, and for the random-region network the host's
``random`` masks); each round times one step of each, the order alternating, so load from other
processes hits both alike. Reports each network's median and best step times and ratio, the preset's
training time estimated from the medians and its step counts (which decides "faster"), the CPU
feature level, what ``auto`` picks and whether that is the faster one, and the weighted L2 of both
after the first steps (how far bf16 drifts from fp32).

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
    registry = get_registry()
    networks = {}
    for mode, cfg in PRESETS["quick"].items():  # every network the preset trains, at its own shapes
        data = load_training_images(registry.get("dataset", "samples"), cfg.load_size)
        masks = registry.get("mask", "random") if mode == "random" else None
        crops = Crops(data.images, cfg.seed, masks, dihedral=cfg.augment == "dihedral")
        trainers = {}
        for precision in PRECISIONS:
            torch.manual_seed(cfg.seed)
            trainers[precision] = TrainStep(replace(cfg, precision=precision), cpu)
        networks[mode] = (cfg, batches(crops, cfg.batch_size, 0, cpu, 0), trainers)
    times: dict[str, dict[str, list[float]]] = {m: {p: [] for p in PRECISIONS} for m in networks}
    l2: dict[str, dict[str, list[float]]] = {m: {p: [] for p in PRECISIONS} for m in networks}
    began = time.perf_counter()
    for index in range(args.warmup + args.rounds):
        if len(times["center"]["fp32"]) >= 2 and time.perf_counter() - began > args.budget_s:
            break
        for mode, (_, stream, trainers) in networks.items():
            real, hole = next(stream)
            order = PRECISIONS if index % 2 == 0 else PRECISIONS[::-1]
            took = {}
            for precision in order:
                start = time.perf_counter()
                losses = trainers[precision](real, hole)
                took[precision] = round(time.perf_counter() - start, 4)
                l2[mode][precision].append(round(losses["g_l2"].item(), 6))
                if index >= args.warmup:
                    times[mode][precision].append(took[precision])
            what = "warm-up" if index < args.warmup else f"round {index + 1 - args.warmup}"
            print(f"{what} {mode}: " + ", ".join(f"{p} {took[p]} s" for p in order), flush=True)
    # the preset's own weighting: each network's median step times the steps the preset trains it for
    total = {
        p: sum(statistics.median(times[m][p]) * networks[m][0].steps for m in networks) for p in PRECISIONS
    }
    faster = min(PRECISIONS, key=total.__getitem__)
    picked = resolve_precision("auto", cpu)
    result = {
        "cpu": cpu_model(),
        "cpu_level": cpu_level(),
        "device_kind": device_kind(cpu),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "networks": {
            mode: {
                "shape": {"bottleneck": cfg.bottleneck, "batch_size": cfg.batch_size, "steps": cfg.steps},
                "rounds": len(times[mode]["fp32"]),
                "step_s": {
                    p: {"median": round(statistics.median(t), 4), "best": min(t), "all": t}
                    for p, t in times[mode].items()
                },
                "bf16_speedup_median": round(
                    statistics.median(times[mode]["fp32"]) / statistics.median(times[mode]["bf16"]), 3
                ),
                "g_l2_by_step": l2[mode],
            }
            for mode, (cfg, _, _) in networks.items()
        },
        "preset_training_s_from_medians": {p: round(v, 1) for p, v in total.items()},
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
