"""Lossless PNG writing that a kill, a second writer or a full disk can never leave half-written, and a
background writer that keeps it off the run's critical path.

PNG is lossless at every zlib setting; the setting trades file size for time. A run folder's photos
(ground truth, predictions) use level 1 with zlib's run-length strategy: after PNG's filters a photo is
mostly noise-like residuals that longer matches barely shrink, while a filled hole is runs. Measured on
683 x 512 JPEG photos (``benchmarks/eval_pipeline.py``'s set), one thread: at 512 px level 6 (Pillow's
default) 106 ms and 363 KB a photo, level 1 24 ms and 394 KB, level 1 + RLE 24 ms and 386 KB; at 256 px
29 / 8.5 / 7.2 ms, and a prediction with a flat hole is as small with RLE as at level 6. Ground truth is
written once per run folder, and copied instead of encoded when the dataset's file already is a plain RGB
PNG of those pixels.
"""

from __future__ import annotations

import shutil
import zlib
from concurrent.futures import Future
from pathlib import Path

import numpy as np
from PIL import Image

from .background import Background
from .files import write_atomically

#: Pillow's default, kept for files written once and kept long (frozen evaluation sets, exports).
DEFAULT_LEVEL = 6
#: zlib level and strategy of the photos a run writes (ground truth, predictions).
RUN_LEVEL = 1
RUN_STRATEGY = zlib.Z_RLE
#: Masks compress fast at any level (4 ms at 512 px) and stay at the default: byte for byte the files
#: ``inpaintbench export`` writes for the same regime.


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Float [0, 1] (H x W or H x W x 3) to uint8 with rounding, as every viewer expects."""
    return np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)


def write_png(
    path: Path, image: np.ndarray, level: int = DEFAULT_LEVEL, strategy: int = zlib.Z_DEFAULT_STRATEGY
) -> None:
    """``image`` (float in [0, 1], uint8, or bool for a mask) as a PNG at ``path``."""
    if image.dtype == bool:
        image = image.astype(np.uint8) * 255
    pixels = Image.fromarray(image if image.dtype == np.uint8 else to_uint8(image))
    options = {"compress_level": level, "compress_type": strategy}
    write_atomically(path, lambda tmp: pixels.save(tmp, format="PNG", **options))


def copy_png(source: Path, path: Path) -> None:
    """A lossless PNG already on disk, copied into place atomically."""
    write_atomically(path, lambda tmp: shutil.copyfile(source, tmp))


class PngWriter(Background):
    """Writes PNGs on background threads, at most ``pending`` at a time in memory.

    Each call returns a future per file; a write that fails (a full disk: ``DiskFull``) fails its
    future, and ``close`` waits for every write still queued, so a run never ends with a temporary file
    left or an error unseen. Encoding and compressing release the GIL, so the writers overlap the model.
    """

    def __init__(self, threads: int, pending: int) -> None:
        super().__init__("png", threads, pending)

    def png(self, path: Path, image: np.ndarray, once: bool = False, mask: bool = False) -> Future[None]:
        """``image`` as a PNG at ``path`` (a photo, or a ``mask`` at the default level); with ``once``,
        nothing happens when the file exists already."""
        settings = (DEFAULT_LEVEL, zlib.Z_DEFAULT_STRATEGY) if mask else (RUN_LEVEL, RUN_STRATEGY)
        return self.submit(lambda: None if once and path.exists() else write_png(path, image, *settings))

    def copy(self, source: Path, path: Path) -> Future[None]:
        """The lossless ``source`` copied to ``path`` unless that file exists already."""
        return self.submit(lambda: None if path.exists() else copy_png(source, path))
