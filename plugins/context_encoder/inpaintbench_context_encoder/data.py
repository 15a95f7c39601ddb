"""Training batches: random 128 px crops with horizontal flips (and random-region holes).

Every sample is drawn from its own generator, seeded from (seed, sample index), and batch k holds
samples k*B .. k*B+B-1. The stream is therefore the same for any number of loader workers, and a
resumed run continues it exactly where the checkpoint left off. Images are drawn with replacement,
as the Lua data loader does.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler

from inpaintbench import Dataset, InpaintbenchError, MaskGenerator, TrainSplit, stable_seed

from .recipe import FINE


@dataclass
class TrainingImages:
    """The training split as 8-bit H x W x 3 arrays, and a fingerprint of exactly those pixels."""

    images: list[np.ndarray]
    fingerprint: str

    def __len__(self) -> int:
        return len(self.images)


def load_training_images(dataset: TrainSplit | Dataset, size: int) -> TrainingImages:
    """Read the dataset's ``train`` split at ``size`` px, hashing ids and pixels as they arrive (the
    fingerprint depends on the content only, not on where the dataset lives)."""
    digest = hashlib.sha256(f"train|{size}".encode())
    images = []
    for sample in dataset.samples("train", size):
        pixels = np.clip(np.rint(sample.image * 255.0), 0, 255).astype(np.uint8)
        if pixels.ndim != 3 or pixels.shape[2] != 3 or min(pixels.shape[:2]) < FINE:
            raise InpaintbenchError(
                f"training image '{sample.image_id}' of dataset '{dataset.spec}' is {pixels.shape}; "
                f"the Context Encoder needs RGB of at least {FINE} px a side"
            )
        digest.update(sample.image_id.encode() + b"\0" + pixels.tobytes())
        images.append(pixels)
    if not images:
        raise InpaintbenchError(f"dataset '{dataset.spec}' has no training images (split 'train' is empty)")
    return TrainingImages(images, digest.hexdigest())


class Crops(torch.utils.data.Dataset):
    """Sample ``index``: a random crop (uint8 3 x 128 x 128), flipped with p = 0.5 (and with
    ``dihedral`` also turned by a random multiple of 90 degrees), and for random-region training a
    hole mask (bool 1 x 128 x 128) from the host's ``random`` regime."""

    def __init__(
        self, images: list[np.ndarray], seed: int, masks: MaskGenerator | None, dihedral: bool = False
    ) -> None:
        self.images = images
        self.seed = seed
        self.masks = masks
        self.dihedral = dihedral

    def __len__(self) -> int:  # the stream is endless; the sampler decides which indices are drawn
        return 2**62

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
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
        prefetch_factor=4 if workers > 0 else None,
    )
    for pixels, hole in loader:
        real = pixels.to(device, non_blocking=True).float().div_(127.5).sub_(1.0)
        yield real, (hole.to(device, non_blocking=True) if hole.numel() else None)
