"""What the model-file adapters cost: each adapter's images/s against calling the model directly.

For each format (``torchscript:``, ``exported:``, ``onnx:``) the same network, a stand-in of LaMa's
signature with random weights (``inpaintbench.testing.released.LamaLike(width=32)``, about 39,000
multiply-adds a pixel: 2.6 GMAC an image at 256 px, some 35 times less than big-lama's), is timed two
ways on the same sealed batches of photos:
- directly: the loaded file called in a plain loop on inputs prepared once (``module(image, mask)``,
  ``session.run`` for ONNX), as a user's own script would;
- through the adapter: ``model.inpaint(batch)`` as the runner calls it, which converts the convention
  (range, holes, padding), calls the model, and checks and maps the output back.
``diffusers:`` is timed the same way against the pipeline called directly at its resolution with
the same per-image generators (a tiny random pipeline, 10 steps, or with ``--pipeline sd15`` one of
Stable Diffusion 1.5 inpainting's shapes with random weights, as slow as the real one: the adapter
adds the resizes to its resolution and back).
The two are interleaved, ``--rounds`` times, each round ``--calls`` calls after one untimed call, and
the medians compared, so the ratio holds on a busy machine. The overhead is the adapter's time over
the direct time, minus one; its absolute value per image is reported too, since a heavier model
(big-lama) makes the same milliseconds a smaller share.

    python benchmarks/model_adapters.py [--sizes 256,512] [--batch 4] [--rounds 7] [--calls 3]
        [--json benchmarks/results/cpu/model_adapters.json]
    python benchmarks/model_adapters.py --pipeline sd15 --sizes 512 --batch 1 --steps 2 --rounds 3 --calls 1
        [--json benchmarks/results/cpu/model_adapters_sd15.json]   # a pipeline of SD 1.5's shapes
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from ce_precision import cpu_model  # the same machine line as the other benchmarks

from inpaintbench.plugins import build_registry
from inpaintbench.seeding import stable_seed
from inpaintbench.testing import prepare_context
from inpaintbench.testing.inputs import sealed_batch
from inpaintbench.testing.released import (
    LamaLike,
    save_diffusers_pipeline,
    save_exported,
    save_onnx,
    save_torchscript,
)

REGISTRY = build_registry()


def direct_call(kind: str, path: Path, batch) -> Callable[[], object]:
    """The file loaded as its own runtime loads it, called on inputs prepared once."""
    image, mask = batch.images.clone(), batch.masks.clone()
    if kind == "torchscript":
        module = torch.jit.load(str(path)).eval()
        return lambda: module(image, mask)
    if kind == "exported":
        module = torch.export.load(str(path)).module()
        return lambda: module(image, mask)
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    feed = {"image": image.numpy(), "mask": mask.numpy()}
    return lambda: session.run(None, feed)


def direct_pipeline(folder: Path, batch, steps: int, seed: int) -> Callable[[], object]:
    from diffusers import DiffusionPipeline

    pipe = DiffusionPipeline.from_pretrained(folder, local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    size = pipe.unet.config.sample_size * pipe.vae_scale_factor
    image = F.interpolate(batch.images, size=(size, size), mode="bilinear", antialias=True)
    mask = (F.interpolate(batch.masks, size=(size, size), mode="nearest") > 0.5).float()
    n = len(batch.image_ids)

    def call() -> object:
        generators = [torch.Generator().manual_seed(stable_seed(seed, 0, batch.regime, i) % 2**63)
                      for i in batch.image_ids]  # fmt: skip
        return pipe(
            prompt=[""] * n, image=image, mask_image=mask, height=size, width=size,
            num_inference_steps=steps, guidance_scale=7.5, generator=generators, output_type="pt",
        )  # fmt: skip

    return call


def timed(call: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - start) / calls


def compare(direct: Callable[[], object], adapter: Callable[[], object], n: int, args) -> dict:
    with torch.inference_mode():
        direct(), adapter()  # untimed: lazy initialisation, allocator warm-up
        pairs = [(timed(direct, args.calls), timed(adapter, args.calls)) for _ in range(args.rounds)]
    d = statistics.median(p[0] for p in pairs)
    a = statistics.median(p[1] for p in pairs)
    ratios = [p[1] / p[0] for p in pairs]
    return {
        "direct_images_per_s": round(n / d, 3),
        "adapter_images_per_s": round(n / a, 3),
        "overhead_median_of_ratios": round(statistics.median(ratios) - 1, 4),
        "overhead_of_medians": round(a / d - 1, 4),
        "overhead_ms_per_image": round((a - d) / n * 1000, 3),
        "round_ratios": [round(r, 4) for r in ratios],
    }


def file_formats(root: Path, args: argparse.Namespace) -> dict:
    """Each file format's adapter against the file called directly, at each size."""
    torch.manual_seed(0)
    network = LamaLike(width=args.width).eval()
    files = {
        "torchscript": save_torchscript(root / "m.pt", network),
        "exported": save_exported(root / "m.pt2", network),
        "onnx": save_onnx(root / "m.onnx", network),
    }
    results = {}
    for size in args.sizes:
        batch = sealed_batch(size, args.batch)
        for kind, path in files.items():
            model = REGISTRY.get("model", f"{kind}:{path}")
            model.prepare(prepare_context(image_size=size))
            results[f"{kind}@{size}"] = compare(
                direct_call(kind, path, batch), lambda m=model, b=batch: m.inpaint(b), args.batch, args
            )
            print(kind, size, results[f"{kind}@{size}"], file=sys.stderr)
    return results


def diffusers(root: Path, args: argparse.Namespace) -> dict:
    """The diffusers adapter against the pipeline called directly at its resolution, at each size."""
    pipeline = save_diffusers_pipeline(root / "pipe", shapes=args.pipeline)
    results = {}
    for size in args.sizes:
        batch = sealed_batch(size, args.batch)
        model = REGISTRY.get("model", f"diffusers:{pipeline}?steps={args.steps}")
        model.prepare(prepare_context(image_size=size))
        key = f"diffusers{'_sd15' if args.pipeline == 'sd15' else ''}@{size}"
        results[key] = compare(
            direct_pipeline(pipeline, batch, args.steps, 0),
            lambda m=model, b=batch: m.inpaint(b),
            args.batch,
            args,
        )
        print(key, results[key], file=sys.stderr)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="256,512", type=lambda text: [int(s) for s in text.split(",")])
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=3)
    parser.add_argument("--width", type=int, default=32, help="the stand-in's channel width")
    parser.add_argument("--steps", type=int, default=10, help="denoising steps of the diffusers comparison")
    parser.add_argument(
        "--pipeline", choices=("tiny", "sd15"), default="tiny",
        help="the diffusers stand-in: tiny (32 px), or sd15 (Stable Diffusion 1.5's shapes: diffusers only)",
    )  # fmt: skip
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        results = {} if args.pipeline == "sd15" else file_formats(root, args)
        results |= diffusers(root, args)
    formats = [r["overhead_median_of_ratios"] for k, r in results.items() if not k.startswith("diffusers")]
    report = {
        "command": "python benchmarks/model_adapters.py " + " ".join(sys.argv[1:]),
        "cpu": cpu_model(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "stand_in": f"LamaLike(width={args.width}), random weights; diffusers pipeline {args.pipeline!r}",
        "batch": args.batch,
        "rounds": args.rounds,
        "calls_per_round": args.calls,
        "steps": args.steps,
        "results": results,
        "worst_overhead_file_formats": max(formats) if formats else None,
    }
    text = json.dumps(report, indent=1)
    if args.json:
        args.json.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
