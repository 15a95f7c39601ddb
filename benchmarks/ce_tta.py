"""Do the Context Encoder's test-time views pay for themselves? Held-out quality and speed at 1, 2 and 8.

The default averages the 8 turned and mirrored views a ``dihedral``-trained network saw, which makes
inference 8x the work of one view. This evaluates the centre network on ``center`` and the
random-region network on ``random`` (the host's regimes, masks drawn as a run draws them: seed 0,
128 px) over the ``samples`` test split (held out: three photos the networks never trained on) with
each view count, through the path a run scores (sealed batches, the prediction composited into the
original), and reports mean PSNR and SSIM (the registry's metrics) and images/s for each (median of
``--repeats`` timed passes after an untimed one; the view counts interleaved, so the speed ratios hold
under load; the scores do not depend on it). With 8 views the scores are the main command's.

    python benchmarks/ce_tta.py --home DIR            # the cache of a quick run (INPAINTBENCH_HOME)
    python benchmarks/ce_tta.py --checkpoint C,R      # checkpoint folders or files, comma-separated
        [--views 1,2,8] [--repeats 3] [--batch 16] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch
from inpaintbench_context_encoder.model import ContextEncoder

from inpaintbench import PrepareContext, TrainSplit, get_registry
from inpaintbench.masks.draw import masked_samples
from inpaintbench.runner.model.sealed import inpaint_sealed

SIZE = 128
SEED = 0
NETWORK_OF = {"center": "center", "random": "random"}


def cached_checkpoints(home: Path) -> str:
    """The newest centre and random-region checkpoint folders in a cache home, comma-separated."""
    found = []
    for mode in NETWORK_OF.values():
        folders = sorted(
            home.glob(f"context_encoder-{mode}-*/checkpoint.json"), key=lambda p: p.stat().st_mtime
        )
        if not folders:
            raise SystemExit(f"no context_encoder-{mode}-* checkpoint in {home}")
        found.append(str(folders[-1].parent))
    return ",".join(found)


def test_set(regime: str) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Images (N x 3 x H x W in [0, 1]), holes (N x 1 x H x W) and ids, as a run gets them."""
    registry = get_registry()
    dataset = registry.get("dataset", "samples")
    generators = {regime: registry.get("mask", regime)}
    images, holes, ids = [], [], []
    for sample, masks in masked_samples(dataset, generators, SEED, SIZE, None):
        images.append(torch.from_numpy(sample.image).permute(2, 0, 1).float())
        holes.append(torch.from_numpy(masks[regime])[None].float())
        ids.append(sample.image_id)
    return torch.stack(images), torch.stack(holes), ids


def prepared(checkpoints: str, views: int) -> ContextEncoder:
    model = ContextEncoder()
    model.prepare(
        PrepareContext(
            train_dataset=TrainSplit(lambda: get_registry().get("dataset", "samples"), "samples"),
            image_size=SIZE,
            device=torch.device("cpu"),
            seed=SEED,
            regimes=list(NETWORK_OF),
            options={"checkpoint": checkpoints, "tta": str(views)},
            log=lambda _: None,
            progress=False,
        )
    )
    return model


def evaluate(model: ContextEncoder, regime: str, data, batch: int) -> tuple[torch.Tensor, float]:
    """The composited predictions of the whole set and the seconds they took."""
    images, holes, ids = data
    start = time.perf_counter()
    out = [
        inpaint_sealed(model, images[i : i + batch], holes[i : i + batch], ids[i : i + batch], regime)
        for i in range(0, len(images), batch)
    ]
    return torch.cat(out), time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    given = parser.add_mutually_exclusive_group(required=True)
    given.add_argument("--home", type=Path, help="INPAINTBENCH_HOME of a run whose cache holds both networks")
    given.add_argument("--checkpoint", help="centre and random-region checkpoints, comma-separated")
    parser.add_argument("--views", default="1,2,8")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes of each view count")
    parser.add_argument("--batch", type=int, default=16, help="images per batch (a run's default)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    checkpoints = args.checkpoint or cached_checkpoints(args.home)
    views = [int(v) for v in args.views.split(",")]
    registry = get_registry()
    metrics = {name: registry.get("metric", name) for name in ("psnr", "ssim")}
    for metric in metrics.values():
        metric.setup(torch.device("cpu"))
    models = {v: prepared(checkpoints, v) for v in views}
    networks = models[views[0]].provenance()["networks"]
    result: dict = {
        "checkpoints": {
            mode: {k: net[k] for k in ("checkpoint", "sha256", "steps")} for mode, net in networks.items()
        },
        "threads": torch.get_num_threads(),
        "images": {},
        "regimes": {},
    }
    for regime in NETWORK_OF:
        data = test_set(regime)
        result["images"][regime] = len(data[2])
        scores: dict[int, dict[str, float]] = {}
        for v in views:  # an untimed first pass of each: the scores, and oneDNN's kernels built
            pred, _ = evaluate(models[v], regime, data, args.batch)
            scores[v] = {
                name: round(metric.compute(pred, data[0], data[1]).mean().item(), 4)
                for name, metric in metrics.items()
            }
        seconds: dict[int, list[float]] = {v: [] for v in views}
        for repeat in range(args.repeats):
            for v in views if repeat % 2 == 0 else views[::-1]:
                seconds[v].append(evaluate(models[v], regime, data, args.batch)[1])
        rows = {}
        for v in views:
            rate = len(data[2]) / statistics.median(seconds[v])
            rows[str(v)] = {
                **scores[v],
                "images_per_s": round(rate, 1),
                "seconds": [round(s, 3) for s in seconds[v]],
            }
            print(
                f"{regime:7s} views {v}: "
                + ", ".join(f"{k} {x}" for k, x in rows[str(v)].items() if k != "seconds")
            )
        result["regimes"][regime] = rows
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
