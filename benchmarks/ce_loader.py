"""Context Encoder training images/s with the real loader against synthetic input, same configuration.

One ``TrainStep`` (the preset's networks) is fed by several streams in turn, interleaved round by round
so that load from other processes hits them alike:

- ``synthetic``: eight pre-made batches already on the device, cycled (no loading at all);
- ``cache-wN``: the trainer's stream cropping from the image cache (``image_cache=1``: decoded uint8
  images memory-mapped from disk);
- ``decode-wN``: the trainer's stream decoding every sample's image file again (``image_cache=0``);

each with N loader workers: on CUDA the trainer's count, on the CPU each count of ``--cpu-workers`` (the
trainer's choice there is what this measures: a worker overlaps loading with the step but takes a core
from it).

Each round runs, per stream, enough untimed steps to drain what its workers prefetched while the others
ran, then ``--steps`` timed ones (synchronised on CUDA). Reported: median and best images/s per stream
over the rounds, each real stream's median against the synthetic one (the goal: within 10%), and what
each real stream produces alone, with no training (its ceiling).

Data: ``--dataset SPEC`` (``folder:/data/paris/train``, ``paris_streetview:/data/paris``), or by default
``--images`` JPEG files of ``--side`` px written to a temporary folder, cut at random places and scales
from the ``samples`` training photos (real photo content, real JPEG decoding and resizing).

    python benchmarks/ce_loader.py [--device cpu|cuda] [--preset quick|paper] [--mode center|random]
        [--batch-size N] [--dataset SPEC] [--images 160] [--side 384] [--rounds 5] [--steps 3]
        [--cpu-workers 0,1] [--threads N] [--json FILE]
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from ce_precision import cpu_model
from inpaintbench_context_encoder.config import PRESETS
from inpaintbench_context_encoder.data import PREFETCH, Crops, batches, loader_workers
from inpaintbench_context_encoder.hardware import device_kind, keep_freed_memory, resolved
from inpaintbench_context_encoder.step import TrainStep
from inpaintbench_context_encoder.stream import open_training_images

from inpaintbench import get_registry
from inpaintbench.datasets.samples import SPLITS, load_photo

SHOWN = ("mode", "bottleneck", "batch_size", "load_size", "precision")  #: config fields in the result
Stream = Iterator[tuple[torch.Tensor, torch.Tensor | None]]


def photo_folder(folder: Path, n: int, side: int, seed: int = 0) -> Path:
    """``n`` JPEG squares of ``side`` px cut from the ``samples`` training photos at random places and
    scales (each photo's short side resized to 1-2x ``side`` first)."""
    rng = np.random.default_rng(seed)
    photos = [load_photo(name).convert("RGB") for name in SPLITS["train"]]
    for k in range(n):
        photo = photos[k % len(photos)]
        scale = side * rng.uniform(1.0, 2.0) / min(photo.size)
        big = photo.resize((max(side, round(photo.width * scale)), max(side, round(photo.height * scale))))
        left, top = rng.integers(big.width - side + 1), rng.integers(big.height - side + 1)
        big.crop((left, top, left + side, top + side)).save(folder / f"{k:05d}.jpg", quality=90)
    return folder


def synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--preset", default="quick", choices=sorted(PRESETS))
    parser.add_argument("--mode", default="center", choices=("center", "random"))
    parser.add_argument("--batch-size", type=int, help="default: the preset's")
    parser.add_argument("--dataset", help="a dataset spec (default: JPEG files made from the samples photos)")
    parser.add_argument("--images", type=int, default=160, help="files made without --dataset")
    parser.add_argument("--side", type=int, default=384, help="their side in px")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=3, help="timed steps per stream and round")
    parser.add_argument("--cpu-workers", default="0,1", help="loader workers of the decode stream on the CPU")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's count)")
    parser.add_argument("--json", type=Path, help="write the result here too")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cpu":
        keep_freed_memory()
    cfg = resolved(PRESETS[args.preset][args.mode], device)
    if args.batch_size:
        cfg = replace(cfg, batch_size=args.batch_size)
    masks = get_registry().get("mask", "random") if cfg.mode == "random" else None
    with tempfile.TemporaryDirectory() as tmp:
        spec = args.dataset
        if spec is None:
            (Path(tmp) / "photos").mkdir()
            spec = f"folder:{photo_folder(Path(tmp) / 'photos', args.images, args.side)}"
        return run(args, cfg, device, spec, masks, Path(tmp))


def run(args: argparse.Namespace, cfg, device: torch.device, spec: str, masks, tmp: Path) -> int:
    dataset = get_registry().get("dataset", spec)
    opened = {}
    for choice, name in (("1", "cache"), ("0", "decode")):
        start = time.perf_counter()
        opened[name] = open_training_images(dataset, cfg.load_size, tmp / "home", choice)
        print(f"{name}: {len(opened[name])} images read and hashed in {time.perf_counter() - start:.1f} s")
    assert opened["cache"].fingerprint == opened["decode"].fingerprint
    dihedral = cfg.augment == "dihedral"
    plan: dict[str, tuple[str, int]] = {}
    for name in ("cache", "decode"):
        counts = [int(w) for w in args.cpu_workers.split(",")]
        for workers in [loader_workers(device, name == "decode")] if device.type == "cuda" else counts:
            plan[f"{name}-w{workers}"] = (name, workers)
    streams: dict[str, Stream] = {}
    for label, (name, workers) in plan.items():
        crops = Crops(opened[name].images, cfg.seed, masks, dihedral=dihedral)
        streams[label] = batches(crops, cfg.batch_size, 0, device, workers)
    premade = [next(streams[next(iter(plan))]) for _ in range(8)]
    streams = {"synthetic": itertools.cycle(premade), **streams}
    drain = {"synthetic": 0} | {label: workers * PREFETCH for label, (_, workers) in plan.items()}

    alone: dict[str, float] = {}
    for label in plan:  # the loaders by themselves, after draining their prefetched batches
        for _ in range(drain[label] + 1):
            next(streams[label])
        n = max(4, 2 * args.steps)
        start = time.perf_counter()
        for _ in range(n):
            real, _ = next(streams[label])
        synchronise(device)
        alone[label] = round(n * cfg.batch_size / (time.perf_counter() - start), 1)
        print(f"{label} alone: {alone[label]} images/s", flush=True)

    torch.manual_seed(cfg.seed)
    trainer = TrainStep(cfg, device)
    for _ in range(2):  # warm-up: kernels chosen, allocator grown
        trainer(*premade[0])
    rates: dict[str, list[float]] = {label: [] for label in streams}
    for index in range(args.rounds):
        order = list(streams) if index % 2 == 0 else list(streams)[::-1]
        for label in order:
            stream = streams[label]
            for _ in range(drain[label] + 1):
                trainer(*next(stream))
            synchronise(device)
            start = time.perf_counter()
            for _ in range(args.steps):
                trainer(*next(stream))
            synchronise(device)
            rates[label].append(round(args.steps * cfg.batch_size / (time.perf_counter() - start), 2))
        print(f"round {index + 1}: " + ", ".join(f"{k} {v[-1]}" for k, v in rates.items()), flush=True)
    median = {label: statistics.median(r) for label, r in rates.items()}
    ratio = {label: round(median[label] / median["synthetic"], 3) for label in plan}
    result = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_model(),
        "device_kind": device_kind(device),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "config": {k: getattr(cfg, k) for k in SHOWN},
        "dataset": args.dataset or f"{args.images} JPEG files of {args.side} px from the samples photos",
        "train_images": len(opened["cache"]),
        "trainer_workers": {name: loader_workers(device, name == "decode") for name in ("cache", "decode")},
        "rounds": args.rounds,
        "timed_steps_per_round": args.steps,
        "images_per_s": {k: {"median": median[k], "best": max(v), "all": v} for k, v in rates.items()},
        "ratio_to_synthetic_median": ratio,
        "within_10_percent": {label: r >= 0.9 for label, r in ratio.items()},
        "loader_alone_images_per_s": alone,
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
