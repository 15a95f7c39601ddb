"""What the checks feed components: real photos, tensors made as the runner makes them, a valid context.

The photos are the ``samples`` dataset's test crops (scikit-image's bundled photos, no download), so
a model or metric is checked on the textures and edges it will be scored on, not on noise.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..components import Batch, PrepareContext, Sample, TrainSplit
from ..datasets.samples import SamplesDataset

DEFAULT_IMAGE_SIZE = 64
DEFAULT_REGIMES = ("center", "random")


@cache
def _test_split(image_size: int) -> tuple[Sample, ...]:
    return tuple(SamplesDataset().samples("test", image_size))


def photo_crops(image_size: int, count: int) -> list[Sample]:
    """``count`` test crops spread evenly over the split, so a batch mixes different photos."""
    crops = _test_split(image_size)
    if not 1 <= count <= len(crops):
        raise ValueError(
            f"the samples test split has {len(crops)} crops at {image_size} px; ask for 1 to {len(crops)}"
        )
    picks = np.linspace(0, len(crops) - 1, count).round().astype(int)
    return [crops[i] for i in picks]


def as_tensors(
    images: Sequence[np.ndarray], masks: Sequence[np.ndarray], device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """N x 3 x H x W images and N x 1 x H x W float masks on ``device``, as inference tensors: the
    runner makes them in inference mode, so an in-place edit outside it fails there as here."""
    with torch.inference_mode():
        target = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).to(device, torch.float32)
        holes = torch.from_numpy(np.stack(masks)).unsqueeze(1).to(device, torch.float32)
        return target.contiguous().clone(), holes.contiguous().clone()


def sealed_batch(
    image_size: int = DEFAULT_IMAGE_SIZE, count: int = 3, regime: str = "random", *, seed: int = 0
) -> Batch:
    """``count`` photo crops sealed under ``regime``'s masks (drawn from ``seed`` as a run draws them),
    on the CPU: what a model receives, to call it directly in a test or a benchmark. When the split has
    fewer crops at this size they repeat, each under a mask of its own (ids ``ID#k``)."""
    from ..masks.draw import draw_masks
    from ..plugins import get_registry
    from ..runner.model.sealed import seal

    crops = photo_crops(image_size, min(count, len(_test_split(image_size))))
    picks = [crops[k % len(crops)] for k in range(count)]
    ids = [c.image_id if count <= len(crops) else f"{c.image_id}#{k}" for k, c in enumerate(picks)]
    masks = draw_masks(get_registry().get("mask", regime), regime, seed, ids, image_size)
    target, holes = as_tensors([c.image for c in picks], [masks[i] for i in ids], torch.device("cpu"))
    return seal(target, holes, ids, regime)


def prepare_context(*, cache_dir: str | Path | None = None, **overrides: Any) -> PrepareContext:
    """A valid ``PrepareContext`` for a model's tests: the ``samples`` train split, the CPU, seed 0,
    64 px, the regimes center and random, no progress bars. ``cache_dir`` is where the model may keep
    what it trains (pass pytest's ``tmp_path``; by default a new temporary folder, left in place).
    Any other field can be overridden by keyword; a ``device`` may be given as text ("cuda")."""
    fields: dict[str, Any] = {
        "train_dataset": TrainSplit(SamplesDataset, "samples"),
        "image_size": DEFAULT_IMAGE_SIZE,
        "device": torch.device("cpu"),
        "seed": 0,
        "regimes": list(DEFAULT_REGIMES),
        "cache_dir": Path(cache_dir if cache_dir is not None else tempfile.mkdtemp(prefix="inpaintbench-")),
        "progress": False,
    }
    fields |= overrides
    fields["device"] = torch.device(fields["device"])
    return PrepareContext(**fields)
