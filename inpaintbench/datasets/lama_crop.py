"""LaMa's test protocol for non-square sources: ``places365:PATH?crop=lama-thick:512[&seed=0]``.

LaMa's evaluation sets (``bin/gen_mask_dataset.py``) resize the short side, draw each mask candidate
on the whole resized image and then cut the square where the mask puts it, so the pixels scored
depend on the mask. The centre crop cannot reproduce that: on 4:3 sources LaMa's thin and medium
holes are 11-18% smaller than on squares, and its crops are not centred.

Here the dataset does the same per test image: the mask is drawn with ``generate_cropped`` of the
named regime from ``mask_rng(seed, regime, image_id)``, the image is cut at the same place, and the
mask is served as the image's fixed mask for that regime (``frozen_mask``). Like a frozen set's,
the mask belongs to the dataset: the run's ``--seed`` does not change it, ``&seed=N`` does. The
first masks are redrawn from equal seeds and compared, as ``masks.draw`` does for a run. A model
still sees only the square, with its hole blanked by the runner. Other regimes of the same run are
drawn on that square as usual. A run takes each mask with its square (``Loaded.masks``); for readers of
``samples`` the last ``KEPT`` masks stay available to ``frozen_mask``, so memory does not grow with the
number of images (a mask is one bool per pixel: 262 KB at 512 px).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from urllib.parse import parse_qsl

import numpy as np
from PIL import Image

from ..errors import InpaintbenchError
from ..images import resize_short_side, to_float_rgb

OPTIONS = ("crop", "seed")
#: How many of the latest masks ``mask`` can still serve to a reader of ``samples``, who asks right after
#: each image.
KEPT = 64


class LamaCrop:
    """The crop regime, its seed, and the masks drawn so far (image id -> square mask)."""

    def __init__(self, query: str, dataset: str) -> None:
        from ..masks.lama import LamaMask, LamaMedium, LamaThick, LamaThin

        options = dict(parse_qsl(query, keep_blank_values=True))
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown or "crop" not in options:
            raise InpaintbenchError(f"dataset '{dataset}': options are crop=lama-KIND:SIZE and seed=N")
        self.regime = options["crop"]
        name, _, size = self.regime.partition(":")
        kinds = {cls.name: cls for cls in (LamaThin, LamaMedium, LamaThick)}
        self.generator: LamaMask | None = kinds[name](size) if name in kinds and size else None
        if self.generator is None or self.generator.size is None:
            raise InpaintbenchError(
                f"dataset '{dataset}': crop= names a LaMa regime with its preset, such as lama-thick:512"
            )
        try:
            self.seed = int(options.get("seed", "0"))
        except ValueError:
            raise InpaintbenchError(f"dataset '{dataset}': seed= must be an integer") from None
        self.masks: OrderedDict[str, np.ndarray] = OrderedDict()
        self.checked = 0
        self.lock = threading.Lock()

    def draw(self, image_id: str, height: int, width: int) -> tuple[np.ndarray, int]:
        from ..masks.draw import as_mask
        from ..seeding import mask_rng

        mask, start = self.generator.generate_cropped(
            mask_rng(self.seed, self.regime, image_id), height, width
        )
        side = min(height, width)
        return as_mask(mask, self.regime, image_id, side, side), start

    def cut(self, image_id: str, image: Image.Image, size: int) -> np.ndarray:
        """The square LaMa's protocol scores for this image at ``size`` px; its mask is kept."""
        return self.cut_with_mask(image_id, image, size)[0]

    def cut_with_mask(self, image_id: str, image: Image.Image, size: int) -> tuple[np.ndarray, np.ndarray]:
        """The square and its mask; safe to call from several threads at once."""
        from ..masks.draw import REDRAWN, irreproducible

        resized = to_float_rgb(resize_short_side(image, size))
        height, width = resized.shape[:2]
        mask, start = self.draw(image_id, height, width)
        with self.lock:
            check = self.checked < REDRAWN
            self.checked += 1
        if check and not np.array_equal(self.draw(image_id, height, width)[0], mask):
            raise irreproducible(self.generator, self.regime, image_id)
        with self.lock:
            self.masks[image_id] = mask
            self.masks.move_to_end(image_id)
            while len(self.masks) > KEPT:
                self.masks.popitem(last=False)
        square = resized[:, start : start + size] if width > height else resized[start : start + size]
        return np.ascontiguousarray(square), mask

    def mask(self, regime: str, image_id: str) -> np.ndarray | None:
        if regime != self.regime:
            return None
        with self.lock:
            return self.masks.get(image_id)
