"""The masks of one test image under every regime of the run, and the check that they are reproducible.

A mask is the dataset's when it fixes one (a frozen evaluation set, LaMa's draw-then-crop protocol), else
drawn from (seed, regime, image id) through ``masks.draw``, so every model, every rank and every rerun
sees the same hole. Drawing runs on the loader threads (``source.py``), ahead of the model. The first
``REDRAWN`` drawn masks of each regime are drawn a second time and compared as they arrive, so a
generator that ignores its rng is refused by name with the first batch, before the output folder exists.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

from ..components import Dataset, MaskGenerator
from ..masks.draw import REDRAWN, draw_mask, irreproducible


@dataclass
class ImageMasks:
    """Regime -> bool H x W (True = hole), and which of them were drawn rather than fixed by the data."""

    masks: dict[str, np.ndarray]
    drawn: set[str] = field(default_factory=set)


class Masker:
    """Every regime's mask for one image: ``fixed`` (what the dataset's read returned), else the
    dataset's ``frozen_mask``, else drawn. Safe to call from several threads: each regime's first draw
    runs alone, so a generator's lazily built state (the ``random`` regime's noise field, 80 MB) is
    built once rather than once per thread at the same moment."""

    def __init__(self, dataset: Dataset, generators: dict[str, MaskGenerator], seed: int, size: int) -> None:
        self.dataset = dataset
        self.generators = generators
        self.seed = seed
        self.size = size
        self._first = threading.Lock()
        self._warm: set[str] = set()

    def draw(self, regime: str, image_id: str) -> np.ndarray:
        if regime in self._warm:
            return draw_mask(self.generators[regime], regime, self.seed, image_id, self.size)
        with self._first:
            mask = draw_mask(self.generators[regime], regime, self.seed, image_id, self.size)
            self._warm.add(regime)
        return mask

    def masks(self, image_id: str, fixed: dict[str, np.ndarray]) -> ImageMasks:
        out = ImageMasks({})
        for regime in self.generators:
            mask = fixed.get(regime)
            if mask is None:
                mask = self.dataset.frozen_mask(regime, image_id)
            if mask is None:
                mask = self.draw(regime, image_id)
                out.drawn.add(regime)
            out.masks[regime] = np.asarray(mask, dtype=bool)
        return out


class ReproducibilityCheck:
    """Redraws the first ``REDRAWN`` drawn masks of each regime from a fresh generator seeded alike."""

    def __init__(self, masker: Masker) -> None:
        self.masker = masker
        self.redrawn = dict.fromkeys(masker.generators, 0)

    def check(self, image_id: str, masks: ImageMasks) -> None:
        for regime in masks.drawn:
            if self.redrawn[regime] >= REDRAWN:
                continue
            self.redrawn[regime] += 1
            if not np.array_equal(self.masker.draw(regime, image_id), masks.masks[regime]):
                raise irreproducible(self.masker.generators[regime], regime, image_id)
