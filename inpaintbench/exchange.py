"""The folder layout shared by ``inpaintbench export`` and the ``predictions:DIR`` model.

Outside code (LaMa's ``bin/predict.py``, any script) reads an export and writes predictions in the
same shape, so the names are fixed here once:

    EXPORT/<regime folder>/NAME.png            the image, every hole pixel HOLE_VALUE (8-bit RGB)
    EXPORT/<regime folder>/NAME_mask000.png    its mask, white = hole (8-bit L)
    PRED/<regime folder>/NAME_mask000.png      the prediction (LaMa's predict.py naming), or NAME.png

``<regime folder>`` is ``file_key(regime spec)``, the name of the regime's folder in a run's
``images/``. ``NAME`` is ``file_key(image id)``, with any ``mask`` in its readable part spelt
``msk`` (LaMa globs ``*mask*.png`` for masks and cuts the image name at the last ``_mask``), then ``-``
and ``mask_digest`` of the image's mask. The digest ties a prediction to the exact mask it was made
for: a run whose mask differs (another ``--seed``, a changed generator) finds no file instead of
scoring one whose pixels outside the old hole are the ground truth inside the new one.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def file_key(text: str) -> str:
    """A safe, unique file name for any text: a readable slug plus a short hash of the original (the
    names of a run folder's images and of an export's files)."""
    slug = _UNSAFE.sub("_", text).strip("._")[:60] or "x"
    return f"{slug}-{hashlib.sha1(text.encode()).hexdigest()[:10]}"


#: What LaMa's predict.py globs for (``*mask*.png``) and cuts the image name at (``_mask``).
MASK_SUFFIX = "_mask000"
#: Lossless formats a prediction may come in; the first existing candidate name is read.
PREDICTION_SUFFIXES = (".png", ".tif", ".tiff", ".bmp")

_MASK_WORD = re.compile("mask", re.IGNORECASE)


def regime_folder(regime: str) -> str:
    """The folder of one mask regime (its spec as the run names it, e.g. ``lama-thick:512``)."""
    return file_key(regime)


def image_stem(image_id: str) -> str:
    """The image's part of NAME: unique and safe, and never read as a LaMa mask."""
    return _MASK_WORD.sub("msk", file_key(image_id))


def mask_digest(mask: np.ndarray) -> str:
    """10 hex digits of sha1 over a boolean mask's shape and bits (True = hole)."""
    mask = np.ascontiguousarray(mask, dtype=bool)
    return hashlib.sha1(repr(mask.shape).encode() + np.packbits(mask).tobytes()).hexdigest()[:10]


def image_name(image_id: str, mask: np.ndarray) -> str:
    """NAME: the file stem of one image under one mask."""
    return f"{image_stem(image_id)}-{mask_digest(mask)}"


def prediction_candidates(name: str) -> list[str]:
    """File names a prediction may have, in the order they are looked for."""
    return [stem + suffix for stem in (name + MASK_SUFFIX, name) for suffix in PREDICTION_SUFFIXES]
