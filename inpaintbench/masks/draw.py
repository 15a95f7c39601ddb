"""Drawing one seeded mask exactly as a run does, shared by the runner, ``freeze``, ``export`` and
``masks``.

Everything that draws a mask for an image goes through ``draw_mask``, so a frozen evaluation set,
a preview and a run hold bit-identical masks for the same (seed, regime spec, image id). The masks
are checked here too: H x W and binary, and ``check_reproducible`` redraws a few from equal seeds,
so a generator that uses global randomness or keeps state is refused by name.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

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
    """Each test image (at most ``limit``) with its mask under every regime, as a run gets them: the
    dataset's frozen mask, else drawn from the seed. The first ``REDRAWN`` drawn masks of a regime are
    checked as soon as they exist, so a bad generator is refused before much is written."""
    drawn: dict[str, dict[str, np.ndarray]] = {spec: {} for spec in generators}
    count = 0
    for sample in dataset.samples("test", size):
        masks = {}
        for spec, generator in generators.items():
            mask = dataset.frozen_mask(spec, sample.image_id)
            if mask is None:
                mask = draw_mask(generator, spec, seed, sample.image_id, size)
                if len(drawn[spec]) < REDRAWN:
                    drawn[spec][sample.image_id] = mask
                    if len(drawn[spec]) == REDRAWN:
                        check_reproducible(generator, spec, seed, drawn[spec], size)
            masks[spec] = mask
        yield sample, masks
        count += 1
        if limit is not None and count >= limit:
            break
    if not count:
        raise InpaintbenchError(f"--dataset {dataset.spec} gave no usable test images")
    for spec, generator in generators.items():
        if len(drawn[spec]) < REDRAWN:
            check_reproducible(generator, spec, seed, drawn[spec], size)


def resize_nearest(mask: np.ndarray, height: int, width: int) -> np.ndarray:
    """A boolean mask resized with nearest-neighbour sampling, so it stays binary."""
    if mask.shape == (height, width):
        return mask
    image = Image.fromarray(mask.astype(np.uint8) * 255)
    return np.asarray(image.resize((width, height), Image.Resampling.NEAREST)) > 127
