"""Training batches: reproducible per sample index, resumable, with the host's random-region holes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from inpaintbench_context_encoder.data import Crops, batches, load_training_images

from inpaintbench import Dataset, InpaintbenchError, Sample, get_registry


class Tiny(Dataset):
    name = "tiny"

    def __init__(self, n: int = 3, value: float = 0.5) -> None:
        super().__init__()
        self.n, self.value = n, value

    def samples(self, split, image_size):
        rng = np.random.default_rng(0)
        for i in range(self.n):
            image = rng.random((image_size, image_size, 3), dtype=np.float32)
            image[0, 0] = self.value
            yield Sample(f"img{i}", image)


def test_fingerprint_follows_the_pixels_and_ids() -> None:
    a = load_training_images(Tiny(), 140)
    assert len(a) == 3 and a.images[0].dtype == np.uint8 and a.images[0].shape == (140, 140, 3)
    assert load_training_images(Tiny(), 140).fingerprint == a.fingerprint
    assert load_training_images(Tiny(value=0.9), 140).fingerprint != a.fingerprint
    assert load_training_images(Tiny(n=2), 140).fingerprint != a.fingerprint


def test_empty_or_small_training_sets_are_refused() -> None:
    with pytest.raises(InpaintbenchError, match="no training images"):
        load_training_images(Tiny(n=0), 140)
    with pytest.raises(InpaintbenchError, match="at least 128"):
        load_training_images(Tiny(), 100)


def test_samples_depend_only_on_seed_and_index() -> None:
    images = load_training_images(Tiny(), 150).images
    crops = Crops(images, seed=3, masks=None)
    assert torch.equal(crops[5][0], Crops(images, seed=3, masks=None)[5][0])
    assert not torch.equal(crops[5][0], crops[6][0])
    assert crops[5][0].shape == (3, 128, 128) and crops[5][0].dtype == torch.uint8


def test_a_resumed_stream_continues_where_it_stopped() -> None:
    images = load_training_images(Tiny(), 150).images
    crops = Crops(images, seed=0, masks=None)
    cpu = torch.device("cpu")
    whole = [real for real, _ in itertools.islice(batches(crops, 4, 0, cpu, 0), 3)]
    resumed = next(batches(crops, 4, 2, cpu, 0))[0]
    assert torch.equal(whole[2], resumed)
    assert whole[0].min() >= -1 and whole[0].max() <= 1


def test_random_region_holes_come_from_the_host_regime() -> None:
    images = load_training_images(Tiny(), 128).images
    crops = Crops(images, seed=0, masks=get_registry().get("mask", "random"))
    real, hole = next(batches(crops, 6, 0, torch.device("cpu"), 0))
    assert hole.shape == (6, 1, 128, 128) and hole.dtype == torch.bool
    ratios = hole.float().mean(dim=(1, 2, 3))
    assert torch.all((ratios > 0.2) & (ratios < 0.3))
    assert not torch.equal(hole[0], hole[1])  # one mask per sample, not per batch


def test_dihedral_augment_turns_crops_and_leaves_the_flip_stream_alone() -> None:
    image = np.arange(128 * 128 * 3, dtype=np.int64).reshape(128, 128, 3) % 251
    flips = Crops([image.astype(np.uint8)], seed=1, masks=None)
    turns = Crops([image.astype(np.uint8)], seed=1, masks=None, dihedral=True)
    plain = torch.from_numpy(image.astype(np.uint8).transpose(2, 0, 1))
    group = [torch.rot90(v, k, (1, 2)) for v in (plain, plain.flip(-1)) for k in range(4)]

    def which(crop: torch.Tensor) -> int:
        return next(i for i, view in enumerate(group) if torch.equal(view, crop))

    assert {which(flips[i][0]) for i in range(40)} == {0, 4}  # the released crops: mirror images only
    assert {which(turns[i][0]) for i in range(80)} == set(range(8))
    for i in range(40):  # same draws before the turn: the mirror choice is shared
        assert which(turns[i][0]) >= 4 if which(flips[i][0]) == 4 else which(turns[i][0]) < 4
