"""External mask files: ``--masks folder:DIR``, for example NVIDIA's irregular test masks.

Every visible file under DIR (searched recursively, sorted by relative path) is a candidate; each
image picks one with the seeded generator the host passes in, so the pairing of masks with images
is fixed by (run seed, regime spec, image id), drawn with replacement. A file is read with the
shared image loader, averaged to grey, binarised at the threshold (a grey level in [0, 1]), then
resized to the image with nearest-neighbour sampling; the run records the hole ratio of that
final mask.

Options follow a ``?`` as ``key=value`` pairs joined by ``&``:

- ``polarity=white`` (default): pixels at or above the threshold are hole (white strokes on
  black, as NVIDIA's set is drawn). ``polarity=black``: pixels below it are hole (sets that store
  1 or 255 for known pixels, as CoModGAN, MAT and RePaint write theirs).
- ``threshold=0.5`` (default): the grey level that splits hole from known.

Example: ``--masks "folder:/data/nvidia_masks?polarity=black&threshold=0.3"`` (quote it for the
shell). ``inpaintbench masks stats folder:DIR`` shows the hole ratios: a mean above 0.5 for a set
of small holes means the polarity is the wrong way round. The folder is read only when the first
mask is drawn, so a frozen evaluation set made from it runs without it.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import numpy as np

from ..components import MaskGenerator
from ..errors import InpaintbenchError, warn
from ..images import list_files, read_image, to_float_rgb
from .draw import resize_nearest

POLARITIES = ("white", "black")


class FolderMasks(MaskGenerator):
    name = "folder"
    description = "mask files from a folder, paired by seed (folder:DIR[?polarity=white|black&threshold=0.5])"

    argument = "DIR[?polarity=white|black&threshold=0.5]: the folder of mask files"

    def __init__(self, arg: str | None = None) -> None:
        super().__init__(arg)
        path, _, query = (arg or "").partition("?")
        if not path:
            raise InpaintbenchError("mask 'folder' needs a folder: folder:DIR[?polarity=black&threshold=0.5]")
        self.root = Path(path).expanduser()
        options = dict(parse_qsl(query, keep_blank_values=True))
        unknown = sorted(set(options) - {"polarity", "threshold"})
        if unknown:
            raise InpaintbenchError(f"mask '{self.spec}': unknown option {unknown[0]} (polarity, threshold)")
        self.polarity = options.get("polarity", "white")
        if self.polarity not in POLARITIES:
            raise InpaintbenchError(f"mask '{self.spec}': polarity must be white or black")
        try:
            self.threshold = float(options.get("threshold", "0.5"))
        except ValueError:
            self.threshold = -1.0
        if not 0.0 < self.threshold < 1.0:
            raise InpaintbenchError(f"mask '{self.spec}': threshold must be a grey level in (0, 1)")

    @cached_property
    def files(self) -> list[Path]:
        if not self.root.is_dir():
            raise InpaintbenchError(f"mask folder '{self.root}' does not exist or is not a folder")
        files = list_files(self.root, _warn_skipped)
        if not files:
            raise InpaintbenchError(f"mask folder '{self.root}' holds no files")
        return files

    def parameters(self, height: int, width: int) -> dict[str, Any]:
        return {
            "folder": str(self.root),
            "files": len(self.files),
            "polarity": self.polarity,
            "threshold": self.threshold,
            "resize": "nearest",
        }

    def load(self, path: Path, height: int, width: int) -> np.ndarray:
        """One mask file as a boolean hole mask of the given size."""
        try:
            grey = to_float_rgb(read_image(path)).mean(axis=2)
        except Exception as exc:
            raise InpaintbenchError(f"mask file '{path}' cannot be read: {exc}") from exc
        bright = grey >= self.threshold
        return resize_nearest(bright if self.polarity == "white" else ~bright, height, width)

    def generate(self, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
        return self.load(self.files[int(rng.integers(len(self.files)))], height, width)


def _warn_skipped(path: Path, reason: str) -> None:
    warn(f"skipped mask file {path}: {reason}")
