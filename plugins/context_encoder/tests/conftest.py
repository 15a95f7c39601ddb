"""Fixtures shared by the Context Encoder tests: small configurations, synthetic training images."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Run torch on one thread. On the 2 shared cores, two OpenMP threads competing with another
    process made a small training step 20-30x slower (3 s instead of 0.14 s, measured). Module scope:
    set before any module-scoped fixture trains, since results depend on the thread count (the order
    of floating-point sums), and bit-for-bit comparisons need both sides on the same count."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_config():
    """``TrainConfig`` factory: a 64-unit code, batch 2, fp32, a step count instead of minutes."""
    from inpaintbench_context_encoder.config import TrainConfig

    def make(**changes):
        settings = dict(bottleneck=64, batch_size=2, steps=3, minutes=None, precision="fp32")
        return TrainConfig(**(settings | changes))

    return make


@pytest.fixture(scope="session")
def train_images():
    """Four 160 x 160 RGB training images (smooth gradients plus noise), as the trainer reads them."""
    from inpaintbench_context_encoder.data import TrainingImages

    rng = np.random.default_rng(7)
    rows, cols = np.mgrid[0:160, 0:160] * 1.25
    base = np.stack([rows, cols, np.full_like(rows, 100.0)], axis=-1)
    images = [
        np.clip(np.roll(base, 13 * k, axis=k % 2) + rng.integers(0, 55, size=base.shape), 0, 255).astype(
            np.uint8
        )
        for k in range(4)
    ]
    return TrainingImages(images, fingerprint="synthetic-4x160")


@pytest.fixture
def fixed_batch():
    """Four 128 x 128 crops in [-1, 1] from a seeded generator."""
    import torch

    return torch.rand(4, 3, 128, 128, generator=torch.Generator().manual_seed(1)) * 2 - 1
