"""A folder of Places-like test photos for the benchmarks: N JPEGs of 683 x 512 (4:3, short side 512, the
size of Places365's val_large), cut from scikit-image's colour photos at random places and scales, with
a little noise so they do not compress (or decode) unrealistically fast.

    python benchmarks/photo_folder.py N DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "hubble_deep_field", "retina")
WIDTH, HEIGHT = 683, 512


def make_photos(n: int, out: Path, seed: int = 0) -> Path:
    """``out`` holding ``img00000.jpg`` ... (kept when it holds them already)."""
    from skimage import data

    out.mkdir(parents=True, exist_ok=True)
    if len(list(out.glob("img*.jpg"))) == n:
        return out
    sources = [Image.fromarray(getattr(data, name)()[..., :3]) for name in PHOTOS]
    rng = np.random.default_rng(seed)
    for i in range(n):
        photo = sources[i % len(sources)]
        w, h = photo.size
        side = int(rng.integers(min(w, h) // 2, min(w, h)))
        left, top = int(rng.integers(0, w - side + 1)), int(rng.integers(0, h - side + 1))
        square = photo.crop((left, top, left + side, top + side))
        crop = square.resize((WIDTH, HEIGHT), Image.Resampling.BICUBIC)
        noisy = np.asarray(crop).astype(np.int16) + rng.integers(-6, 7, (HEIGHT, WIDTH, 3))
        Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(out / f"img{i:05d}.jpg", quality=90)
    return out


if __name__ == "__main__":
    make_photos(int(sys.argv[1]), Path(sys.argv[2]))
