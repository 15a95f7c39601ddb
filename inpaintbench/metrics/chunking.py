"""Running a per-image computation over a batch in cache-sized chunks.

Why: on the CPU, temporaries for a whole batch (tens of MB) fall out of the cache and, in a VM, pay a
page fault on every fresh allocation; chunks of about a million elements made PSNR 10x and SSIM 4x
faster here (2-core VM, batches of 32 at 128-256 px). Accelerators take much larger chunks.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

CPU_CHUNK_ELEMENTS = 1 << 20
DEVICE_CHUNK_ELEMENTS = 1 << 26


def per_image(fn: Callable[..., torch.Tensor], *batches: torch.Tensor, planes: int = 1) -> torch.Tensor:
    """``fn(*chunks)`` -> (n,) over slices of the batches, concatenated to (N,).

    ``planes``: how many image-sized temporaries ``fn`` holds at once, to size the chunks.
    """
    import torch

    first = batches[0]
    budget = CPU_CHUNK_ELEMENTS if first.device.type == "cpu" else DEVICE_CHUNK_ELEMENTS
    step = max(1, budget // (planes * math.prod(first.shape[1:])))
    starts = range(0, max(len(first), 1), step)  # an empty batch still goes through fn once
    return torch.cat([fn(*(b[i : i + step] for b in batches)) for i in starts])
