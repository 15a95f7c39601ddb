"""How long `inpaintbench report` takes on a large run: 10,000 result rows.

4 models x 2 regimes x 1,250 images. The run folder is synthesised: plausible metric values from a seeded
generator, and every image file a hard link to one of a few real scikit-image photos (cheap to write; the
report still decodes and thumbnails each one it shows).

    python benchmarks/report_render.py [--rows 10000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from report_runs import link_images, write_tables  # noqa: E402

from inpaintbench.report import render  # noqa: E402

MODELS = ("mean_fill", "biharmonic", "context_encoder", "lama_like")
REGIMES = ("center", "random")


def synthesise(run_dir: Path, rows: int) -> None:
    rng = np.random.default_rng(0)
    n_images = rows // (len(MODELS) * len(REGIMES))
    images = [f"img_{i:05d}.png" for i in range(n_images)]
    ratios = {"center": np.full(n_images, 0.25), "random": rng.uniform(0.02, 0.7, n_images)}
    frames = []
    for quality, model in enumerate(MODELS):
        for regime in REGIMES:
            hole = ratios[regime]
            psnr = 30 - 12 * hole + quality + rng.normal(0, 2, n_images)
            frames.append(
                pd.DataFrame(
                    {
                        "model": model,
                        "mask": regime,
                        "image": images,
                        "hole_ratio": hole,
                        "psnr": psnr,
                        "ssim": np.clip(
                            0.95 - 0.6 * hole + 0.01 * quality + rng.normal(0, 0.03, n_images), 0, 1
                        ),
                        "lpips": np.clip(
                            0.05 + 0.4 * hole - 0.01 * quality + rng.normal(0, 0.02, n_images), 0, None
                        ),
                        "l1_hole": np.clip(8 + 20 * hole - quality + rng.normal(0, 2, n_images), 0, None),
                        "checkpoint": "",
                    }
                )
            )
    results = pd.concat(frames, ignore_index=True)
    write_tables(
        run_dir,
        results,
        models=MODELS,
        regimes=REGIMES,
        size=64,
        seed=0,
        fingerprint="bench",
        n_images=n_images,
    )
    link_images(run_dir, results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument(
        "--keep", type=Path, help="write the run and reports here instead of a temporary folder"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        run_dir = root / "run"
        start = time.perf_counter()
        synthesise(run_dir, args.rows)
        print(f"synthesised {args.rows} rows in {time.perf_counter() - start:.1f} s")
        for label, inline in (("assets", False), ("self-contained", True)):
            start = time.perf_counter()
            index = render([run_dir], root / f"report-{label}", self_contained=inline)
            elapsed = time.perf_counter() - start
            print(f"render ({label}): {elapsed:.2f} s, index.html {index.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
