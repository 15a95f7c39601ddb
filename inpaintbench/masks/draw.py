"""Drawing one seeded mask exactly as a run does, shared by the runner, ``freeze``, ``export`` and
``masks``: the one path from (seed, regime, image id) to a checked mask.

A mask is the dataset's when it fixes one (a frozen evaluation set, LaMa's draw-then-crop protocol),
else drawn. ``Masker`` gives every regime's mask of an image (the runner calls it on its loader
threads), and ``ReproducibilityCheck`` draws the first ``REDRAWN`` drawn masks of each regime a
second time as they arrive, so a generator that ignores its rng is refused by name with the first
images, before a run's folder or a frozen set exists.

Everything that draws a mask for an image goes through ``draw_mask``, so a frozen evaluation set,
a preview and a run hold bit-identical masks for the same (seed, regime spec, image id). The masks
are checked here too: H x W and binary, and ``check_reproducible`` redraws a few from equal seeds,
so a generator that uses global randomness or keeps state is refused by name.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from ..components import Dataset, MaskGenerator, Sample
from ..errors import InpaintbenchError
from ..seeding import mask_rng

#: How many images' masks ``check_reproducible`` draws a second time.
REDRAWN = 4


def as_mask(drawn: object, regime: str, image_id: str, height: int, width: int) -> np.ndarray:
    """A generator's output as a boolean mask, or an error naming the regime: it must be H x W and
    hold only True/False (or 0/1), since thresholding a soft mask silently would change the hole."""
    mask = np.asarray(drawn)
    if mask.shape != (height, width):
        raise InpaintbenchError(
            f"mask regime '{regime}' drew shape {mask.shape} for '{image_id}', expected {(height, width)}"
        )
    if mask.dtype != bool:
        if mask.dtype.kind not in "biuf" or not np.isin(mask, (0, 1)).all():
            raise InpaintbenchError(
                f"mask regime '{regime}' drew a {mask.dtype} mask for '{image_id}' with values other "
                "than 0 and 1; masks must be binary (True or 1 = hole)"
            )
        mask = mask.astype(bool)
    return mask


def draw_mask(generator: MaskGenerator, regime: str, seed: int, image_id: str, size: int) -> np.ndarray:
    """The boolean size x size mask (True = hole) the run draws for ``image_id`` under ``regime``."""
    try:
        drawn = generator.generate(mask_rng(seed, regime, image_id), size, size)
    except InpaintbenchError:
        raise
    except Exception as exc:
        raise InpaintbenchError(
            f"mask regime '{regime}' failed on image '{image_id}': {type(exc).__name__}: {exc}"
        ) from exc
    return as_mask(drawn, regime, image_id, size, size)


def check_reproducible(
    generator: MaskGenerator, regime: str, seed: int, drawn: dict[str, np.ndarray], size: int
) -> None:
    """Redraw the first ``REDRAWN`` masks of ``drawn`` (image id -> mask, in drawing order) from
    freshly seeded generators; any difference means the masks depend on something besides ``rng``."""
    for image_id in list(drawn)[:REDRAWN]:
        if not np.array_equal(draw_mask(generator, regime, seed, image_id, size), drawn[image_id]):
            raise irreproducible(generator, regime, image_id)


def irreproducible(generator: MaskGenerator, regime: str, image_id: str) -> InpaintbenchError:
    """The error for a generator whose second mask from an equal seed differed from its first."""
    return InpaintbenchError(
        f"mask regime '{regime}' ({type(generator).__module__}.{type(generator).__name__}) drew "
        f"a different mask for '{image_id}' from the same seed: a generator must use only the "
        "rng it is given (not np.random, random or its own state)"
    )


def draw_masks(
    generator: MaskGenerator, regime: str, seed: int, image_ids: Sequence[str], size: int
) -> dict[str, np.ndarray]:
    """Every image's mask, checked to be reproducible from the seed."""
    drawn = {image_id: draw_mask(generator, regime, seed, image_id, size) for image_id in image_ids}
    check_reproducible(generator, regime, seed, drawn, size)
    return drawn


def masked_samples(
    dataset: Dataset, generators: dict[str, MaskGenerator], seed: int, size: int, limit: int | None
) -> Iterator[tuple[Sample, dict[str, np.ndarray]]]:
    """Each test image (at most ``limit``) with its mask under every regime, through the run's own
    ``Masker`` and ``ReproducibilityCheck``, so ``freeze`` and ``export`` hold the run's masks and
    refuse a bad generator as the run does, with its first images."""
    masker = Masker(dataset, generators, seed, size)
    check = ReproducibilityCheck(masker)
    count = 0
    for sample in dataset.samples("test", size):
        masks = masker.masks(sample.image_id, {})
        check.check(sample.image_id, masks)
        yield sample, masks.masks
        count += 1
        if limit is not None and count >= limit:
            break
    if not count:
        raise InpaintbenchError(f"--dataset {dataset.spec} gave no usable test images")


def resize_nearest(mask: np.ndarray, height: int, width: int) -> np.ndarray:
    """A boolean mask resized with nearest-neighbour sampling, so it stays binary."""
    if mask.shape == (height, width):
        return mask
    image = Image.fromarray(mask.astype(np.uint8) * 255)
    return np.asarray(image.resize((width, height), Image.Resampling.NEAREST)) > 127


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
