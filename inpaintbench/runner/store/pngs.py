"""A background writer that keeps the run's PNG encoding (``inpaintbench.images``) off its critical
path, with a bound on the images queued in memory."""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path

import numpy as np

from ...images import copy_png, write_png, write_run_png
from ..shared.background import Background


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
