"""Lossless PNG writing that a kill, a second writer or a full disk can never leave half-written, and a
background writer that keeps it off the run's critical path.

PNG is lossless at every setting; the settings trade file size for time. A run folder's photos (ground
truth, predictions) are encoded with OpenCV's libpng: PNG's Sub filter on every row, zlib level 1 and
zlib's run-length strategy (after the filter a photo is mostly noise-like residuals that longer matches
barely shrink, while a filled hole is runs); Pillow would try all five filters on every row. Measured by
``benchmarks/png_settings.py`` (683 x 512 JPEG photos resized, one thread, CPU ms and KB per file):

    photo at         Pillow level 6   Pillow level 1 + RLE   run: Sub, level 1, RLE
    256 px           20.4 ms, 109 KB  6.7 ms, 107 KB         4.3 ms, 116 KB
    512 px           97.3 ms, 382 KB  26.2 ms, 386 KB        17.1 ms, 429 KB

so 1.5x faster than Pillow's fastest setting (1.4x for a prediction with a flat hole) for files 8 to 12%
larger. Ground truth is written once per run folder, and copied instead of encoded when the dataset's
file already is a plain RGB PNG of those pixels.
"""

from __future__ import annotations

import shutil
from concurrent.futures import Future
from pathlib import Path

import numpy as np
from PIL import Image

from ..datasets.images import to_uint8
from .background import Background
from .files import write_atomically

#: Pillow's default, kept for files written once and kept long (frozen evaluation sets, exports).
DEFAULT_LEVEL = 6


def write_png(path: Path, image: np.ndarray) -> None:
    """``image`` (float in [0, 1], uint8, or bool for a mask) as a PNG at ``path``, with Pillow at
    ``DEFAULT_LEVEL``."""
    if image.dtype == bool:
        image = image.astype(np.uint8) * 255
    pixels = Image.fromarray(image if image.dtype == np.uint8 else to_uint8(image))
    write_atomically(path, lambda tmp: pixels.save(tmp, format="PNG", compress_level=DEFAULT_LEVEL))


def write_run_png(path: Path, image: np.ndarray) -> None:
    """A run's photo (float in [0, 1] or uint8 RGB) as a PNG: Sub filter, zlib level 1, run-length."""
    import cv2  # here: only a run that saves images needs OpenCV

    pixels = image if image.dtype == np.uint8 else to_uint8(image)
    bgr = np.ascontiguousarray(pixels[..., ::-1])  # OpenCV's channel order; numpy, not OpenCV's threads
    settings = [cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_SUB, cv2.IMWRITE_PNG_COMPRESSION, 1,
                cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE]  # fmt: skip
    ok, encoded = cv2.imencode(".png", bgr, settings)
    if not ok:
        raise RuntimeError(f"OpenCV could not encode {path.name}")
    write_atomically(path, lambda tmp: tmp.write_bytes(encoded))  # an OSError with its errno when full


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
        # masks compress fast at any level (4 ms at 512 px) and stay on Pillow's default: byte for byte
        # the files ``inpaintbench export`` writes for the same regime
        write = write_png if mask else write_run_png
        return self.submit(lambda: None if once and path.exists() else write(path, image))

    def copy(self, source: Path, path: Path) -> Future[None]:
        """The lossless ``source`` copied to ``path`` unless that file exists already."""
        return self.submit(lambda: None if path.exists() else copy_png(source, path))
