"""The NTIRE 2022 inpainting challenge's structured masks (Romero et al. 2022, its mask generator).

- ``lines:N``: every N-th row (or column) is hole, starting with the first: hole ratio 1/N
  (rounded up to whole lines). The direction is drawn per image, rows or columns with equal
  odds. Plain ``lines`` draws N from {2, 3, 4, 5} per image, as the challenge did.
- ``completion:R``: one side is missing: the top, bottom, left or right ``int(R * side)`` lines
  (the side drawn per image). Plain ``completion`` draws R ~ U(0.2, 0.8) per image.
- ``expand:D``: outpainting: only the centre square of side ``2 * ((min(H, W) // D) // 2)`` is
  known (hole ratio about 1 - 1/D^2). Plain ``expand`` draws D from {2, 3, 4} per image.
- ``nn:F``: super-resolution as inpainting: only every F-th pixel of every F-th row is known
  (the pixels a nearest-neighbour F x upscale would copy), hole ratio about 1 - 1/F^2. Plain
  ``nn`` draws F from {2, 3, 4} per image.

The challenge drew ``lines`` and ``completion`` directions and ``reverse`` with Python's
``random``; here every choice comes from the seeded generator the host passes in.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..components import MaskGenerator
from ..errors import InpaintbenchError


class StructuredMask(MaskGenerator):
    """A mask family with one integer or float setting, fixed by the argument or drawn per image."""

    choices: ClassVar[tuple[float, ...]] = ()
    setting: ClassVar[str] = ""
    convert: ClassVar[type] = int

    def __init__(self, arg: str | None = None) -> None:
        super().__init__(arg)
        self.value: float | None = None
        if arg is not None:
            try:
                self.value = self.convert(arg)
            except ValueError:
                self.value = None
            if self.value is None or not self._valid(self.value):
                raise InpaintbenchError(f"mask '{self.name}:{arg}': {self.setting}")

    def _valid(self, value: float) -> bool:
        return value >= 2

    def _pick(self, rng: np.random.Generator) -> float:
        if self.value is not None:
            return self.value
        return self.choices[int(rng.integers(len(self.choices)))]

    def parameters(self, height: int, width: int) -> dict[str, Any]:
        return {"fixed": self.value, "drawn_from": None if self.value is not None else list(self.choices)}


class EveryNLines(StructuredMask):
    name = "lines"
    description = "NTIRE 2022 every-N-lines: every N-th row or column is hole (lines:N; N 2-5 if omitted)"
    choices = (2, 3, 4, 5)
    setting = "N must be an integer of 2 or more"
    argument = "N, the line period (an integer of 2 or more)"

    def generate(self, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
        n = int(self._pick(rng))
        mask = np.zeros((height, width), dtype=bool)
        if rng.random() < 0.5:
            mask[::n, :] = True
        else:
            mask[:, ::n] = True
        return mask


class CompletionMask(StructuredMask):
    name = "completion"
    description = "NTIRE 2022 completion: one side (fraction R) is missing (completion:R; R ~ U(0.2, 0.8))"
    setting = "R must be a fraction in (0, 1)"
    argument = "R, the missing fraction in (0, 1)"
    convert = float

    def _valid(self, value: float) -> bool:
        return 0.0 < value < 1.0

    def _pick(self, rng: np.random.Generator) -> float:
        return self.value if self.value is not None else float(rng.uniform(0.2, 0.8))

    def parameters(self, height: int, width: int) -> dict[str, Any]:
        return {"fixed": self.value, "drawn_from": None if self.value is not None else "U(0.2, 0.8)"}

    def generate(self, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
        ratio = self._pick(rng)
        side = int(rng.integers(4))  # 0 top, 1 bottom, 2 left, 3 right
        mask = np.zeros((height, width), dtype=bool)
        rows, cols = int(height * ratio), int(width * ratio)
        if side == 0:
            mask[:rows] = True
        elif side == 1:
            mask[height - rows :] = True
        elif side == 2:
            mask[:, :cols] = True
        else:
            mask[:, width - cols :] = True
        return mask


class ExpandMask(StructuredMask):
    name = "expand"
    description = "NTIRE 2022 expand (outpainting): only a centre square of side min/D is known (expand:D)"
    choices = (2, 3, 4)
    setting = "D must be an integer of 2 or more"
    argument = "D: the known centre square's side is min(H, W) / D (2 or more)"

    def generate(self, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
        half = (min(height, width) // int(self._pick(rng))) // 2
        mask = np.ones((height, width), dtype=bool)
        mask[height // 2 - half : height // 2 + half, width // 2 - half : width // 2 + half] = False
        return mask


class NearestNeighbourMask(StructuredMask):
    name = "nn"
    description = "NTIRE 2022 nearest neighbour (super-resolution): only every F-th pixel is known (nn:F)"
    choices = (2, 3, 4)
    setting = "F must be an integer of 2 or more"
    argument = "F: every F-th pixel of every F-th row is known (2 or more)"

    def generate(self, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
        factor = int(self._pick(rng))
        mask = np.ones((height, width), dtype=bool)
        mask[::factor, ::factor] = False
        return mask
