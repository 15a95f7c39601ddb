"""Time and size of the PNG settings a run could write its photos with, on real photos, one thread.

    python benchmarks/png_settings.py [--n 24] [--rounds 5] [--data DIR] [--json FILE]

For N photos of 683 x 512 (``photo_folder.py``) resized to 256 and 512 px, as photos and as predictions
with a flat square hole (what mean_fill writes), it encodes each with: Pillow at its default (level 6),
Pillow at level 1 with zlib's run-length strategy (the run's setting before), and the run's setting
(``inpaintbench/images.py``: OpenCV's libpng, Sub filter, level 1, run-length). Every file is decoded back and
checked to hold exactly the pixels. Prints the median over the rounds of the CPU ms per file, and KB.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from photo_folder import make_photos
from PIL import Image

from inpaintbench.images import write_run_png


def pillow(level: int, strategy: int) -> Callable[[np.ndarray], bytes]:
    def encode(pixels: np.ndarray) -> bytes:
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="PNG", compress_level=level, compress_type=strategy)
        return buffer.getvalue()

    return encode


def run_setting(root: Path) -> Callable[[np.ndarray], bytes]:
    path = root / "run.png"

    def encode(pixels: np.ndarray) -> bytes:
        write_run_png(path, pixels)
        return path.read_bytes()

    return encode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--data", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = make_photos(args.n, args.data or root / "photos")
        files = sorted(data.iterdir())[: args.n]
        encoders = {
            "pillow level 6": pillow(6, zlib.Z_DEFAULT_STRATEGY),
            "pillow level 1 + rle": pillow(1, zlib.Z_RLE),
            "run (sub, level 1, rle)": run_setting(root),
        }
        for size in (256, 512):
            photos = [np.asarray(Image.open(f).convert("RGB").resize((size, size), Image.BICUBIC))
                      for f in files]  # fmt: skip
            holes = []
            for photo in photos:
                filled, q = photo.copy(), size // 4
                filled[q : 3 * q, q : 3 * q] = photo.mean((0, 1)).astype(np.uint8)
                holes.append(filled)
            for kind, images in (("photo", photos), ("prediction", holes)):
                spent: dict[str, list[float]] = {name: [] for name in encoders}
                for _ in range(args.rounds):  # interleaved, so load on the machine hits every encoder alike
                    for name, encode in encoders.items():
                        t0 = time.thread_time()
                        for image in images:
                            encode(image)
                        spent[name].append((time.thread_time() - t0) / len(images))
                for name, encode in encoders.items():
                    encoded = [encode(image) for image in images]
                    for image, png in zip(images, encoded, strict=True):
                        assert (np.asarray(Image.open(io.BytesIO(png))) == image).all(), name
                    ms = 1000 * statistics.median(spent[name])
                    kb = sum(map(len, encoded)) / len(encoded) / 1024
                    results[f"{size} {kind} {name}"] = {"cpu_ms": round(ms, 2), "kb": round(kb, 1)}
                    print(f"{size} px {kind:<10} {name:<24} {ms:7.2f} ms  {kb:7.1f} KB")
    if args.json:
        doc = {"command": "python benchmarks/png_settings.py " + " ".join(sys.argv[1:]), "results": results}
        args.json.write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
