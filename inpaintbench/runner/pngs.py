"""Lossless PNG writing that a kill, a second writer or a full disk can never leave half-written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from .files import write_atomically


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Float [0, 1] (H x W or H x W x 3) to uint8 with rounding, as every viewer expects."""
    return np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)


def write_png(path: Path, image: np.ndarray) -> None:
    pixels = Image.fromarray(to_uint8(image))
    write_atomically(path, lambda tmp: pixels.save(tmp, format="PNG"))
