"""Training batches: random 128 px crops with horizontal flips (and random-region holes).

Every sample is drawn from its own generator, seeded from (seed, sample index), and batch k holds
samples k*B .. k*B+B-1. The stream is therefore the same for any number of loader workers, and a
resumed run continues it exactly where the checkpoint left off. Under torchrun each of N ranks takes
its contiguous slice of B/N of every batch (``Shard``), so the ranks together draw the same samples.
Images are drawn with replacement, as the Lua data loader does. Where the images come from (memory,
the image cache, the files) is ``stream.py``'s; every source gives the same uint8 pixels.
"""

from __future__ import annotations

import hashlib
import itertools
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler

from inpaintbench import Dataset, InpaintbenchError, MaskGenerator, TrainSplit, stable_seed

from .recipe import FINE

#: Batches each loader worker keeps ready.
PREFETCH = 4
#: Loader workers decoding image files on the CPU, where they share the cores with the step
#: (``benchmarks/ce_loader.py``: see the README's "Measured").
CPU_DECODE_WORKERS = 1


@dataclass
class TrainingImages:
    """The training split as 8-bit H x W x 3 arrays (a list in memory, or ``stream.py``'s image cache or
    files read on access), a fingerprint of exactly those ids and pixels, and the cache file if any."""

    images: Sequence[np.ndarray]
    fingerprint: str
    cache: Path | None = None

    def __len__(self) -> int:
        return len(self.images)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """A dataset's float image in [0, 1] as the trainer keeps it."""
    return np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)


def check_pixels(image_id: str, pixels: np.ndarray, spec: str, square: int | None = None) -> None:
    """RGB of at least the crop size (and, for the image cache, exactly ``square`` px a side)."""
    if pixels.ndim != 3 or pixels.shape[2] != 3 or min(pixels.shape[:2]) < FINE:
        raise InpaintbenchError(
            f"training image '{image_id}' of dataset '{spec}' is {pixels.shape}; "
            f"the Context Encoder needs RGB of at least {FINE} px a side"
        )
    if square is not None and pixels.shape[:2] != (square, square):
        raise InpaintbenchError(
            f"training image '{image_id}' of dataset '{spec}' is {pixels.shape[0]} x {pixels.shape[1]}, not "
            f"the {square} x {square} asked for: the image cache holds squares of the load size; pass "
            "--option image_cache=0 to decode every sample instead"
        )


def load_training_images(dataset: TrainSplit | Dataset, size: int) -> TrainingImages:
    """Read the dataset's ``train`` split at ``size`` px into memory, hashing ids and pixels as they
    arrive (the fingerprint depends on the content only, not on where the dataset lives)."""
    digest = hashlib.sha256(f"train|{size}".encode())
    images = []
    for sample in dataset.samples("train", size):
        pixels = to_uint8(sample.image)
        check_pixels(sample.image_id, pixels, dataset.spec)
        digest.update(sample.image_id.encode() + b"\0" + pixels.tobytes())
        images.append(pixels)
    if not images:
        raise InpaintbenchError(f"dataset '{dataset.spec}' has no training images (split 'train' is empty)")
    return TrainingImages(images, digest.hexdigest())


@dataclass(frozen=True)
class Shard:
    """Rank ``rank`` of ``size``, each taking ``per_rank`` samples of every global batch."""

    rank: int
    size: int
    per_rank: int

    def sample(self, index: int) -> int:
        """The global sample index of this rank's ``index``-th sample."""
        step, offset = divmod(index, self.per_rank)
        return (step * self.size + self.rank) * self.per_rank + offset


class Crops(torch.utils.data.Dataset):
    """Sample ``index``: a random crop (uint8 3 x 128 x 128), flipped with p = 0.5 (and with
    ``dihedral`` also turned by a random multiple of 90 degrees), and for random-region training a
    hole mask (bool 1 x 128 x 128) from the host's ``random`` regime. With ``shard``, index i is this
    rank's i-th sample, global sample ``shard.sample(i)``."""

    def __init__(
        self,
        images: Sequence[np.ndarray],
        seed: int,
        masks: MaskGenerator | None,
        dihedral: bool = False,
        shard: Shard | None = None,
    ) -> None:
        self.images = images
        self.seed = seed
        self.masks = masks
        self.dihedral = dihedral
        self.shard = shard

    def __len__(self) -> int:  # the stream is endless; the sampler decides which indices are drawn
        return 2**62

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self.shard is not None:
            index = self.shard.sample(index)
        rng = np.random.default_rng(stable_seed(self.seed, "context_encoder-sample", index))
        image = self.images[rng.integers(len(self.images))]
        top = rng.integers(image.shape[0] - FINE + 1)
        left = rng.integers(image.shape[1] - FINE + 1)
        crop = image[top : top + FINE, left : left + FINE]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        if self.dihedral:
            crop = np.rot90(crop, int(rng.integers(4)))
        pixels = torch.from_numpy(np.ascontiguousarray(crop.transpose(2, 0, 1)))
        if self.masks is None:
            return pixels, torch.zeros(1, 0, 0, dtype=torch.bool)
        hole = self.masks.generate(rng, FINE, FINE)
        return pixels, torch.from_numpy(np.asarray(hole, dtype=bool))[None]


class FromIndex(Sampler[int]):
    """Sample indices start, start + 1, ... without end."""

    def __init__(self, start: int) -> None:
        self.start = start

    def __iter__(self) -> Iterator[int]:
        return itertools.count(self.start)


def batches(
    crops: Crops, batch_size: int, start_step: int, device: torch.device, workers: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
    """Endless (real in [-1, 1] N x 3 x 128 x 128, hole or None) batches on ``device`` from step
    ``start_step`` on. Workers and pinned memory only where a GPU waits for the data."""
    loader = DataLoader(
        crops,
        batch_size=batch_size,
        sampler=FromIndex(start_step * batch_size),
        num_workers=workers,
        pin_memory=device.type == "cuda",
        persistent_workers=workers > 0,
        prefetch_factor=PREFETCH if workers > 0 else None,
    )
    for pixels, hole in loader:
        real = pixels.to(device, non_blocking=True).float().div_(127.5).sub_(1.0)
        yield real, (hole.to(device, non_blocking=True) if hole.numel() else None)


def loader_workers(device: torch.device, decoding: bool, local_size: int = 1) -> int:
    """Loader workers: on CUDA up to 8 per process, the cores shared among the node's processes; on the
    CPU none for crops of images in memory or the cache (a crop is microseconds, a worker would take a
    core from the step) and ``CPU_DECODE_WORKERS`` when every sample decodes a file."""
    if device.type == "cuda":
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:
            cores = os.cpu_count() or 1
        return max(1, min(8, cores // max(local_size, 1)))
    return CPU_DECODE_WORKERS if decoding else 0
