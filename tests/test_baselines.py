"""Baseline models against numpy and scikit-image references."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.restoration import inpaint_biharmonic

from inpaintbench.masks.center import CenterMask
from inpaintbench.masks.freeform import FreeFormMask
from inpaintbench.masks.random_region import RandomRegionMask
from inpaintbench.models.biharmonic import Biharmonic
from inpaintbench.models.mean_fill import MeanFill
from inpaintbench.plugins import build_registry
from inpaintbench.runner.model.sealed import seal


def sealed(model, images: torch.Tensor, masks: torch.Tensor, regime: str = "center") -> torch.Tensor:
    """The model's output on the sealed batch the runner would hand it (hole pixels blanked)."""
    return model.inpaint(seal(images, masks, [f"i{k}" for k in range(len(images))], regime))


def batch(size: int, n: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """Random images and one mask per regime (centre, random region, free-form), 1 = hole."""
    rng = np.random.default_rng(0)
    images = rng.random((n, 3, size, size), dtype=np.float32)
    gens = [CenterMask(), RandomRegionMask(), FreeFormMask()]
    masks = np.stack([gens[i % 3].generate(np.random.default_rng(i), size, size) for i in range(n)])
    return torch.from_numpy(images), torch.from_numpy(masks[:, None].astype(np.float32))


def test_registered_under_their_names():
    registry = build_registry()
    assert type(registry.get("model", "mean_fill")) is MeanFill
    assert type(registry.get("model", "biharmonic")) is Biharmonic


def test_mean_fill_matches_numpy():
    images, masks = batch(64)
    out = sealed(MeanFill(), images, masks, "center")
    assert out.shape == images.shape and out.dtype == images.dtype
    for img, mask, pred in zip(images.numpy(), masks.numpy()[:, 0] > 0, out.numpy(), strict=True):
        for channel in range(3):
            expected = img[channel][~mask].astype(np.float64).mean()
            np.testing.assert_allclose(pred[channel][mask], expected, rtol=1e-6)
            assert np.array_equal(pred[channel][~mask], img[channel][~mask])


def test_mean_fill_without_known_pixels_is_grey():
    images = torch.rand(1, 3, 8, 8)
    out = sealed(MeanFill(), images, torch.ones(1, 1, 8, 8), "center")
    assert torch.all(out == 0.5)


def test_biharmonic_without_known_pixels_is_grey():
    """scikit-image has nothing to solve from (it raised on a zero-size array for the whole regime)."""
    images, masks = batch(16, n=2)
    masks[0] = 1.0
    out = sealed(Biharmonic(), images, masks)
    assert torch.all(out[0] == 0.5) and torch.isfinite(out[1]).all() and not torch.all(out[1] == 0.5)


def test_biharmonic_matches_skimage():
    images, masks = batch(48)
    out = sealed(Biharmonic(), images, masks, "freeform")  # the reference below sees the hidden pixels
    assert out.shape == images.shape and out.dtype == images.dtype and out.device == images.device
    for img, mask, pred in zip(images.numpy(), masks.numpy()[:, 0] > 0, out.numpy(), strict=True):
        reference = inpaint_biharmonic(img.transpose(1, 2, 0).astype(np.float64), mask, channel_axis=-1)
        expected = np.clip(reference, 0, 1).astype(np.float32).transpose(2, 0, 1)
        np.testing.assert_allclose(pred, expected, rtol=0, atol=1e-7)


def test_biharmonic_recovers_a_smooth_image():
    """A plane is biharmonic, so the hole is filled almost exactly (unlike the mean fill)."""
    y, x = np.mgrid[0:64, 0:64] / 63.0
    plane = np.stack([0.2 + 0.6 * x, 0.8 - 0.5 * y, 0.3 + 0.3 * x + 0.3 * y]).astype(np.float32)
    images = torch.from_numpy(plane[None])
    masks = torch.from_numpy(
        CenterMask().generate(np.random.default_rng(0), 64, 64)[None, None].astype(np.float32)
    )
    hole = masks[0, 0].bool()
    biharmonic_err = (sealed(Biharmonic(), images, masks, "center") - images)[0][:, hole].abs().max()
    mean_err = (sealed(MeanFill(), images, masks, "center") - images)[0][:, hole].abs().max()
    assert biharmonic_err < 0.01 < mean_err


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.cuda
@pytest.mark.parametrize("model", [MeanFill, Biharmonic])
def test_output_stays_on_the_input_device(model):
    images, masks = batch(32, n=2)
    out = sealed(model(), images.cuda(), masks.cuda())
    assert out.device.type == "cuda"
    np.testing.assert_allclose(out.cpu().numpy(), sealed(model(), images, masks, "center").numpy(), atol=1e-6)
