"""Mask generation speed: masks per second of every built-in regime at 256 and 512 px.

Usage: python benchmarks/mask_speed.py [--seconds 1.0] [--sizes 256,512] [--regimes a,b,...]
Each regime draws masks (through ``draw_mask``, as a run does) for at least ``--seconds`` per size.
``folder`` reads a temporary set of 64 mask PNGs of 512 px, the size of NVIDIA's irregular masks.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from PIL import Image

from inpaintbench.masks.draw import draw_mask
from inpaintbench.plugins import build_registry

REGIMES = (
    "center,random,block,freeform,lama-thin,lama-medium,lama-thick,"
    "ratio:0.01-0.1,ratio:0.1-0.2,ratio:0.2-0.3,ratio:0.3-0.4,ratio:0.4-0.5,ratio:0.5-0.6,"
    "lines,completion,expand,nn,folder"
)


def rate(generator, spec: str, size: int, seconds: float) -> float:
    draw_mask(generator, spec, 0, "warm-up", size)  # one-off set-up (random's noise field) is not timed
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds or count < 3:
        draw_mask(generator, spec, 0, f"image-{count}", size)
        count += 1
    return count / elapsed


def make_mask_folder(folder: Path, registry) -> None:
    generator = registry.get("mask", "lama-thick:512")
    for i in range(64):
        mask = draw_mask(generator, "lama-thick:512", 0, f"file-{i}", 512)
        Image.fromarray(mask.astype("uint8") * 255).save(folder / f"{i:05d}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--sizes", default="256,512")
    parser.add_argument("--regimes", default=REGIMES)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    registry = build_registry()
    with tempfile.TemporaryDirectory() as tmp:
        make_mask_folder(Path(tmp), registry)
        print(f"{'regime':<16}" + "".join(f"{f'{s} px':>12}" for s in sizes) + "   (masks per second)")
        for spec in args.regimes.split(","):
            spec = f"folder:{tmp}" if spec == "folder" else spec
            generator = registry.get("mask", spec)
            rates = [rate(generator, spec, size, args.seconds) for size in sizes]
            label = "folder:DIR" if spec.startswith("folder:") else spec
            print(f"{label:<16}" + "".join(f"{r:>12,.0f}" for r in rates))


if __name__ == "__main__":
    main()
