"""Seeds derived from names, so masks depend on (run seed, regime, image id) and nothing else."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


def stable_seed(*parts: object) -> int:
    """A 128-bit seed from the parts' text; unlike ``hash()`` it is the same in every process."""
    text = "\0".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:16], "little")


def mask_rng(seed: int, regime: str, image_id: str) -> np.random.Generator:
    """The generator every model's mask for this image under this regime is drawn from."""
    import numpy as np

    return np.random.default_rng(stable_seed(seed, regime, image_id))
