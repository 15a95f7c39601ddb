"""End-to-end images per second of a run against each of its stages alone, with and without saved PNGs.

    python benchmarks/eval_pipeline.py [--n 200] [--size 256] [--rounds 3] [--batch-size 16] [--data DIR]
        [--json benchmarks/results/cpu/eval_pipeline.json]

The run is ``--model mean_fill --metrics psnr,ssim --masks center,random`` on N photos of 683 x 512
(``photo_folder.py``) at ``--size``. In one process, interleaved over ``--rounds`` (median), it times:

    source    the loader alone: decode, resize, hash and draw both masks on the loader threads
    masks     drawing the two masks alone, one thread
    model     mean_fill through the sealed path on batches already in memory, both regimes
    metrics   psnr and ssim on batches already in memory, both regimes
    pngs      the PNGs a run writes per image (ground truth, two masks, two predictions) on the writers
    store     committing each batch's rows to SQLite
    run       ``Runner.execute`` end to end (with images, then with ``--no-images``)

and prints each as images per second (an image is one photo with both of its regimes), and the run's
rate against the slowest stage it contains (the goal: within 25%, a ratio of at least 0.75).

Overlap cannot beat the CPUs: each stage's CPU seconds per image (``time.process_time``, every thread of
the process) are measured as well, and a run of stages that need more CPU seconds per image than the
machine has cores can go no faster than ``cores / (sum of its stages' CPU seconds per image)``. The
script prints that bound and the run's rate against the lower of the bound and the slowest stage, which
is what overlapping can reach on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from photo_folder import make_photos

from inpaintbench.files import layout
from inpaintbench.masks.draw import draw_mask
from inpaintbench.plugins import get_registry
from inpaintbench.runner.model.sealed import inpaint_sealed
from inpaintbench.runner.run import RunConfig, Runner
from inpaintbench.runner.scoring.metrics import Scoring
from inpaintbench.runner.shared.distributed import World
from inpaintbench.runner.shared.errorlog import ErrorLog
from inpaintbench.runner.shared.failures import Failures
from inpaintbench.runner.shared.threads import evaluation_threads, loader_threads, torch_threads
from inpaintbench.runner.source.stream import Source, Stream
from inpaintbench.runner.store.pngs import PngWriter
from inpaintbench.runner.store.results import ResultStore, Row

REGIMES = ["center", "random"]
METRICS = ["psnr", "ssim"]


def config(data: Path, n: int, size: int, batch: int, images: bool) -> RunConfig:
    return RunConfig(
        models=["mean_fill"], masks=REGIMES, metrics=METRICS, dataset=f"folder:{data}",
        image_size=size, limit=n, batch_size=batch, save_images=images,
    )  # fmt: skip


def load_batches(cfg: RunConfig) -> list[tuple[list[str], np.ndarray, dict[str, np.ndarray]]]:
    """The run's batches in memory: ids, N x H x W x 3 images, per regime N x H x W masks."""
    registry = get_registry()
    dataset = registry.get("dataset", cfg.dataset)
    masks = {r: registry.get("mask", r) for r in cfg.masks}
    source = Source(dataset, masks, cfg.image_size, cfg.seed, cfg.batch_size, World())
    stream = Stream(source, cfg.limit, World())
    out = []
    try:
        while (chunk := stream.next()) is not None:
            out.append(
                (
                    chunk.image_ids,
                    np.stack([i.image for i in chunk.items]),
                    {r: np.stack([i.masks.masks[r] for i in chunk.items]) for r in cfg.masks},
                )
            )
    finally:
        source.close()
    return out


def stage_source(cfg: RunConfig) -> Callable[[], int]:
    def run() -> int:
        return sum(len(ids) for ids, _, _ in load_batches(cfg))

    return run


def stage_masks(cfg: RunConfig, ids: list[str]) -> Callable[[], int]:
    registry = get_registry()
    generators = {r: registry.get("mask", r) for r in cfg.masks}

    def run() -> int:
        for image_id in ids:
            for regime, generator in generators.items():
                draw_mask(generator, regime, cfg.seed, image_id, cfg.image_size)
        return len(ids)

    return run


def tensors(batches: list) -> list[tuple[list[str], torch.Tensor, dict[str, torch.Tensor]]]:
    return [
        (
            ids,
            torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(),
            {r: torch.from_numpy(m[:, None].astype(np.float32)) for r, m in masks.items()},
        )
        for ids, images, masks in batches
    ]


def stage_model(batches: list) -> Callable[[], int]:
    model = get_registry().get("model", "mean_fill")

    def run() -> int:
        with torch.inference_mode():
            for ids, images, holes in batches:
                for regime, hole in holes.items():
                    inpaint_sealed(model, images, hole, ids, regime)
        return sum(len(b[0]) for b in batches)

    return run


def stage_metrics(batches: list, scoring: Scoring) -> Callable[[], int]:
    model = get_registry().get("model", "mean_fill")
    with torch.inference_mode():
        preds = [
            {r: inpaint_sealed(model, x, h, ids, r) for r, h in holes.items()} for ids, x, holes in batches
        ]

    def run() -> int:
        for (_, images, holes), pred in zip(batches, preds, strict=True):
            for regime, hole in holes.items():
                scoring.score(pred[regime], images, hole, "mean_fill", regime)
        return sum(len(b[0]) for b in batches)

    return run


def stage_pngs(batches: list, root: Path) -> Callable[[], int]:
    def run() -> int:
        out = root / f"pngs-{time.time_ns()}"
        writer = PngWriter(threads=2, pending=64)
        futures = []
        for ids, images, masks in batches:
            for k, image_id in enumerate(ids):
                futures.append(writer.png(layout.target_png(out, image_id), images[k]))
                for regime, mask in masks.items():
                    path = layout.mask_png(out, regime, image_id)
                    futures.append(writer.png(path, mask[k], mask=True))
                    futures.append(writer.png(layout.prediction_png(out, "m", regime, image_id), images[k]))
        writer.close()
        for f in futures:
            f.result()
        shutil.rmtree(out)
        return sum(len(b[0]) for b in batches)

    return run


def stage_store(batches: list, root: Path) -> Callable[[], int]:
    def run() -> int:
        path = root / f"store-{time.time_ns()}.sqlite"
        store = ResultStore(path, [])
        store.open_session({"x": 1})
        for ids, _, masks in batches:
            for regime in masks:
                store.add([Row("mean_fill", regime, i, 0.25, "", {"psnr": 20.0, "ssim": 0.8}) for i in ids])
        store.close()
        path.unlink()
        return sum(len(b[0]) for b in batches)

    return run


def stage_run(data: Path, cfg: RunConfig, root: Path) -> Callable[[], int]:
    def run() -> int:
        out = root / f"run-{time.time_ns()}"
        Runner(cfg, out, ["run"], progress=False, log=lambda _: None).execute()
        shutil.rmtree(out)
        return cfg.limit or 0

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--data", type=Path, help="a folder of photos (made when it lacks them)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = make_photos(args.n, args.data or root / "photos")
        cfg = config(data, args.n, args.size, args.batch_size, images=True)
        batches = load_batches(cfg)
        ids = [i for b in batches for i in b[0]]
        store = ResultStore(root / "events.sqlite", [])
        scoring = Scoring(
            {m: get_registry().get("metric", m) for m in METRICS},
            Failures(store, ErrorLog(root), print),
            {},
        )
        scoring.setup(torch.device("cpu"))
        on_cpu = tensors(batches)
        stages: dict[str, Callable[[], int]] = {
            "source": stage_source(cfg),
            "masks": stage_masks(cfg, ids),
            "model": stage_model(on_cpu),
            "metrics": stage_metrics(on_cpu, scoring),
            "pngs": stage_pngs(batches, root),
            "store": stage_store(batches, root),
            "run": stage_run(data, cfg, root),
            "run --no-images": stage_run(data, config(data, args.n, args.size, args.batch_size, False), root),
        }
        rates: dict[str, list[float]] = {name: [] for name in stages}
        cpu: dict[str, list[float]] = {name: [] for name in stages}
        # every stage with the threads the run gives torch (``runner/shared/threads.py``)
        torch_count = evaluation_threads(torch.device("cpu"), loader_threads())
        for round_ in range(args.rounds + 1):  # round 0 warms up (the random regime's noise field, caches)
            for name, stage in stages.items():
                with torch_threads(torch_count):
                    t0, c0 = time.perf_counter(), time.process_time()
                    count = stage()
                    spent, used = time.perf_counter() - t0, time.process_time() - c0
                if round_:
                    rates[name].append(count / spent)
                    cpu[name].append(used / count)
    median = {name: statistics.median(v) for name, v in rates.items()}
    cpu_median = {name: statistics.median(v) for name, v in cpu.items()}
    cores = len(os.sched_getaffinity(0))
    print(
        f"{args.n} photos 683 x 512 -> {args.size} px, batches of {args.batch_size}, "
        f"masks {','.join(REGIMES)}, "
        f"metrics {','.join(METRICS)}; torch {torch_count} threads, {loader_threads()} loaders, "
        f"{os.cpu_count()} CPUs; "
        f"images/s, median of {args.rounds} rounds:"
    )
    for name, rate in median.items():
        print(f"  {name:<16} {rate:8.1f}   {1000 * cpu_median[name]:6.2f} CPU ms per image")
    without = ["source", "model", "metrics", "store"]
    results = {}
    for run, stage_names in (("run", [*without, "pngs"]), ("run --no-images", without)):
        slowest = min(stage_names, key=median.get)
        ratio = median[run] / median[slowest]
        bound = cores / sum(cpu_median[name] for name in stage_names)
        reachable = min(bound, median[slowest])
        results[run] = {
            "slowest_stage": slowest,
            "ratio": ratio,
            "cpu_bound_images_per_s": bound,
            "ratio_to_reachable": median[run] / reachable,
        }
        print(
            f"{run}: {median[run]:.1f} images/s = {ratio:.2f} x the slowest stage "
            f"({slowest}, {median[slowest]:.1f}); its stages' CPU time allows {bound:.1f} on {cores} "
            f"cores: {median[run] / reachable:.2f} x what overlap can reach"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        doc = {
            "command": "python benchmarks/eval_pipeline.py " + " ".join(sys.argv[1:]),
            "cpus": os.cpu_count(),
            "torch_threads": torch_count,
            "loader_threads": loader_threads(),
            "cores": cores,
            "images_per_s": rates,
            "median": median,
            "cpu_s_per_image": cpu_median,
            "against_slowest_stage": results,
        }
        args.json.write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
