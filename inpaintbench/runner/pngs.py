"""Lossless PNG writing that a kill can never leave half-written."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Float [0, 1] (H x W or H x W x 3) to uint8 with rounding, as every viewer expects."""
    return np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)


def write_png(path: Path, image: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    Image.fromarray(to_uint8(image)).save(tmp, format="PNG")
    os.replace(tmp, path)
