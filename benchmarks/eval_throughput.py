"""Images per second of each built-in metric on real photos, and batched SSIM against skimage's loop.

    python benchmarks/eval_throughput.py [--size 128] [--n 64] [--device auto] [--batch 32] [--repeats 3]
        [--threads T] [--metrics psnr,ssim,lpips,lpips:vgg,...]

Targets are random square crops of scikit-image's colour photos; predictions fill a centre hole with
a blurred copy and are composited, as the runner does. Each metric is timed on batches already on
the device (best of --repeats). When the LPIPS backbone weights are missing, LPIPS is timed with a
random trunk and labelled as plumbing-only: those runs say nothing about LPIPS values.
On a shared, oversubscribed CPU torch's intra-op threads can slow down several-fold; compare
``--threads 1`` with the default there.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from functools import partial

import numpy as np
import torch
from skimage import data, filters, transform
from skimage.metrics import structural_similarity

from inpaintbench.components import Metric, MetricUnavailable
from inpaintbench.device import resolve_device
from inpaintbench.metrics.perceptual import LPIPS, build_network
from inpaintbench.plugins import build_registry

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "hubble_deep_field")
DEFAULT_METRICS = "psnr,psnr_hole,l1_hole,l2_hole,ssim,lpips"


def real_photos(n: int, size: int, seed: int = 0) -> np.ndarray:
    """N x size x size x 3 float64 in [0, 1]: random square crops (at least size wide), resized."""
    rng = np.random.default_rng(seed)
    sources = [getattr(data, name)()[..., :3] / 255.0 for name in PHOTOS]
    out = []
    for i in range(n):
        image = sources[i % len(sources)]
        h, w = image.shape[:2]
        side = int(rng.integers(min(size, h, w), min(h, w) + 1))
        top, left = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        crop = image[top : top + side, left : left + side]
        out.append(transform.resize(crop, (size, size), anti_aliasing=True))
    return np.stack(out)


def composited(target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(pred, hole): a blurred copy inside the centre square (a quarter of the area), the original outside."""
    size = target.shape[1]
    hole = np.zeros(target.shape[:3], bool)
    hole[:, size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = True
    blurred = np.stack([filters.gaussian(x, sigma=3, channel_axis=-1) for x in target])
    return np.where(hole[..., None], blurred, target), hole


def best_seconds(fns: list[Callable[[], object]], repeats: int, device: torch.device) -> list[float]:
    """Best wall time of each function over ``repeats`` interleaved rounds (after one warm-up round),
    so a busy shared machine slows all of them alike."""
    sync = torch.cuda.synchronize if device.type == "cuda" else lambda: None
    best = [float("inf")] * len(fns)
    for round_ in range(repeats + 1):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            sync()
            if round_:
                best[i] = min(best[i], time.perf_counter() - start)
    return best


def ready(spec: str, metric: Metric, device: torch.device) -> str:
    """Set the metric up; LPIPS without weights gets a random trunk. Returns a note for the table."""
    try:
        metric.setup(device)
    except MetricUnavailable as exc:
        if not isinstance(metric, LPIPS):
            raise
        print(f"note: {spec} unavailable: {exc}")
        metric.network = build_network(metric.net, backbone=None).to(device)
        return "PLUMBING ONLY: random trunk, not LPIPS"
    return ""


def skimage_ssim(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The reference: skimage's SSIM one image at a time (N x H x W x 3 float64)."""
    settings = dict(
        gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1, channel_axis=-1
    )
    return np.array([structural_similarity(p, t, **settings) for p, t in zip(pred, target, strict=True)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--n", type=int, default=64, help="images")
    parser.add_argument("--batch", type=int, default=32, help="images per compute() call")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--metrics", default=DEFAULT_METRICS, help="comma-separated specs; add lpips:vgg")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    device = resolve_device(args.device)
    # float32-exact float64 arrays, so skimage sees exactly what the float32 tensors hold
    target_np = real_photos(args.n, args.size).astype(np.float32).astype(np.float64)
    pred_np, hole_np = composited(target_np)
    pred_np = pred_np.astype(np.float32).astype(np.float64)
    to_device = lambda x: torch.from_numpy(x).permute(0, 3, 1, 2).float().contiguous().to(device)  # noqa: E731
    pred, target = to_device(pred_np), to_device(target_np)
    mask = torch.from_numpy(hole_np[:, None].astype(np.float32)).to(device)
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else ""
    print(
        f"device {device} {gpu}| torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{os.cpu_count()} CPUs | {args.n} photos at {args.size}px, batches of {args.batch}"
    )

    registry = build_registry()
    batches = [slice(i, i + args.batch) for i in range(0, args.n, args.batch)]

    def score(metric: Metric, chosen: list[slice]) -> list[torch.Tensor]:
        return [metric.compute(pred[b], target[b], mask[b]) for b in chosen]

    print(f"\n{'metric':<12}{'images/s':>12}{'ms/image':>10}  note")
    for spec in args.metrics.split(","):
        metric = registry.get("metric", spec)
        note = ready(spec, metric, device)
        [seconds] = best_seconds([partial(score, metric, batches)], args.repeats, device)
        print(f"{spec:<12}{args.n / seconds:>12.1f}{1e3 * seconds / args.n:>10.3f}  {note}")

    reference = partial(skimage_ssim, pred_np, target_np)
    batched = partial(score, registry.get("metric", "ssim"), batches)
    skimage_seconds, ssim_seconds = best_seconds([reference, batched], args.repeats, device)
    diff = np.abs(torch.cat(batched()).cpu().numpy() - reference()).max()
    print(
        f"\nSSIM, {args.n} images: skimage per-image loop {1e3 * skimage_seconds / args.n:.2f} ms/image "
        f"({args.n / skimage_seconds:.1f} images/s); batched torch on {device} "
        f"{1e3 * ssim_seconds / args.n:.3f} ms/image ({args.n / ssim_seconds:.1f} images/s); "
        f"speedup {skimage_seconds / ssim_seconds:.1f}x; max |difference| {diff:.2e}"
    )


if __name__ == "__main__":
    main()
