"""Check that mmagic's inpainting SSIM and PSNR (``SSIM()``, ``PSNR()`` with their defaults: [0, 255],
no border crop, no Y channel) equal the default ``ssim`` and ``psnr`` here. Not run in CI::

    python benchmarks/mmagic_metrics_check.py --mmagic /path/to/open-mmlab/mmagic

mmagic itself needs mmcv and mmengine, so its per-channel ``_ssim`` is read from the checkout's
``mmagic/evaluation/metrics/ssim.py`` and run on its own (it needs only numpy and OpenCV); mmagic's
PSNR is one line (``20 * log10(255 / sqrt(mse))``) and is written out here. Inputs: scikit-image's
photos at 256 px and a noisy copy, rounded to 8 bits as mmagic reads them. At open-mmlab/mmagic
0a560bb the largest differences were 2.3e-6 (SSIM, mmagic works in float32) and 1.9e-6 dB (PSNR).
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

import cv2
import numpy as np
import torch
from skimage import data, transform

from inpaintbench.metrics.pixel import PSNR
from inpaintbench.metrics.ssim import ssim

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")


def load_function(path: Path, name: str):
    """One top-level function of a source file, executed with numpy and OpenCV only."""
    tree = ast.parse(path.read_text())
    node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)
    namespace = {"np": np, "cv2": cv2}
    exec(compile(ast.Module([node], []), str(path), "exec"), namespace)
    return namespace[name]


def as_tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(image / 255.0).permute(2, 0, 1)[None].float()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mmagic", type=Path, required=True, help="a checkout of open-mmlab/mmagic")
    args = parser.parse_args()
    mm_ssim = load_function(args.mmagic / "mmagic" / "evaluation" / "metrics" / "ssim.py", "_ssim")
    worst_ssim = worst_psnr = 0.0
    for name in PHOTOS:
        photo = transform.resize(getattr(data, name)()[:400, :400, :3] / 255.0, (256, 256))
        noisy = np.clip(photo + np.random.default_rng(0).normal(0, 0.05, photo.shape), 0, 1)
        gt, pred = (np.round(x * 255).astype(np.float32) for x in (photo, noisy))
        theirs_ssim = np.mean([mm_ssim(gt[..., c], pred[..., c]) for c in range(3)])
        theirs_psnr = 20 * np.log10(255 / np.sqrt(((gt - pred) ** 2).mean()))
        ours_ssim = ssim(as_tensor(pred), as_tensor(gt)).item()
        ours_psnr = PSNR().compute(as_tensor(pred), as_tensor(gt), None).item()
        worst_ssim = max(worst_ssim, abs(theirs_ssim - ours_ssim))
        worst_psnr = max(worst_psnr, abs(theirs_psnr - ours_psnr))
        print(f"{name}: ssim {theirs_ssim:.6f} vs {ours_ssim:.6f}, psnr {theirs_psnr:.5f} vs {ours_psnr:.5f}")
    print(f"largest difference: ssim {worst_ssim:.2g}, psnr {worst_psnr:.2g} dB")


if __name__ == "__main__":
    main()
