"""Results and the images that show them: PNGs written in the background, rows committed once their PNGs
are on disk.

Every committed row has its images in the folder (``--no-images`` aside): a batch's rows wait, in order,
until the writes they depend on (the batch's ground truth and masks, written once per folder, and its
predictions) have finished, then are committed in one transaction. A kill therefore loses at most the few
batches still being written, which a resumed run computes again, and never leaves a row without its PNG.
A write that fails (a full disk) is raised here, in the run's own thread.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, wait
from pathlib import Path

import numpy as np

from ...files import layout
from ..source.stream import Chunk
from .pngs import PngWriter
from .results import ResultStore, Row

#: What a scoring job gives: the rows, and the writes of their predictions' PNGs.
Job = tuple[list[Row], list[Future[None]]]


class Saver:
    """The run's writer of rows (``store``) and PNGs (``pngs``, None with ``--no-images``)."""

    def __init__(self, out: Path, store: ResultStore, pngs: PngWriter | None) -> None:
        self.out = out
        self.store = store
        self.pngs = pngs
        self._waiting: deque[tuple[Future[Job] | None, list[Future[None]]]] = deque()

    def inputs(self, chunk: Chunk) -> list[Future[None]]:
        """Each image's ground truth (copied when the dataset's file is a lossless PNG of it) and masks,
        unless the folder has them already."""
        if self.pngs is None:
            return []
        futures = []
        for item in chunk.items:
            assert item.image is not None and item.masks is not None
            target = layout.target_png(self.out, item.image_id)
            if item.source is not None:
                futures.append(self.pngs.copy(item.source, target))
            else:
                futures.append(self.pngs.png(target, item.image, once=True))
            for regime, mask in item.masks.masks.items():
                path = layout.mask_png(self.out, regime, item.image_id)
                futures.append(self.pngs.png(path, mask, once=True, mask=True))
        return futures

    def predictions(
        self, model: str, regime: str, image_ids: list[str], pred: np.ndarray
    ) -> list[Future[None]]:
        """N x H x W x 3 predictions (uint8, or float in [0, 1]) as PNGs (rewritten: a recomputed row
        replaces its image)."""
        if self.pngs is None:
            return []
        return [
            self.pngs.png(layout.prediction_png(self.out, model, regime, image_id), pred[k])
            for k, image_id in enumerate(image_ids)
        ]

    def add(self, job: Future[Job] | None, after: list[Future[None]]) -> None:
        """Commit the rows ``job`` gives once its own writes and every write in ``after`` are done, in the
        order the jobs were added (``job`` None: no rows, only ``after`` to see through)."""
        self._waiting.append((job, after))
        self.flush()

    def flush(self, block: bool = False) -> None:
        """Commit every leading batch whose writes are done (with ``block``, all of them, waiting)."""
        while self._waiting:
            job, after = self._waiting[0]
            if job is not None and block:
                wait([job])
            if job is not None and not job.done():
                return
            rows, writes = job.result() if job is not None else ([], [])  # a scoring error is raised here
            if block:
                wait([*writes, *after])
            elif not all(f.done() for f in [*writes, *after]):
                return
            for future in [*writes, *after]:
                future.result()  # a failed write (DiskFull) is raised here, before its rows are committed
            if rows:
                self.store.add(rows)
            self._waiting.popleft()

    def close(self) -> None:
        """Wait for the writes still queued, whatever happened, so none is left half-done."""
        if self.pngs is not None:
            self.pngs.close()
