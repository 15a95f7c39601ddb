"""The generator's inputs and the ring-weighted L2, checked against train.lua's arithmetic."""

from __future__ import annotations

import torch
from inpaintbench_context_encoder.infer import ring_source
from inpaintbench_context_encoder.recipe import (
    centre_input,
    centre_l2_weights,
    centre_target,
    mean_colour,
    random_input,
    weighted_l2,
)

MEAN = torch.tensor([2 * 117 / 255 - 1, 2 * 104 / 255 - 1, 2 * 123 / 255 - 1])


def test_centre_input_fills_the_inner_56_square_with_the_mean_colour() -> None:
    real = torch.rand(2, 3, 128, 128) * 2 - 1
    inp = centre_input(real, overlap=4)
    inner = inp[:, :, 36:92, 36:92]
    assert torch.equal(inner, MEAN.view(1, 3, 1, 1).expand_as(inner))
    untouched = torch.ones(128, 128, dtype=torch.bool)
    untouched[36:92, 36:92] = False
    assert torch.equal(inp[:, :, untouched], real[:, :, untouched])  # ring and context as they were
    assert torch.equal(centre_target(real), real[:, :, 32:96, 32:96])


def test_random_input_fills_exactly_the_hole() -> None:
    real = torch.rand(1, 3, 8, 8) * 2 - 1
    hole = torch.zeros(1, 1, 8, 8, dtype=torch.bool)
    hole[..., 2:5, 1:3] = True
    out = random_input(real, hole)
    assert torch.equal(out[:, :, ~hole[0, 0]], real[:, :, ~hole[0, 0]])
    assert torch.allclose(out[0, :, 3, 2], mean_colour(real).flatten())


def test_ring_weights_are_ten_on_the_4_px_ring_and_one_inside() -> None:
    weights = centre_l2_weights(4, 10.0, torch.device("cpu"))[0, 0]
    assert weights.shape == (64, 64)
    assert int((weights == 10).sum()) == 64 * 64 - 56 * 56
    assert torch.all(weights[4:60, 4:60] == 1)
    assert torch.all(weights[:4] == 10) and torch.all(weights[:, -4:] == 10)


def test_weighted_l2_gives_train_lua_gradient() -> None:
    """train.lua: df_dg = wtl2Matrix * dMSE/dfake with wtl2Matrix = wtl2 * (10 on ring, 1 inside)."""
    torch.manual_seed(0)
    fake = torch.randn(3, 3, 64, 64, requires_grad=True)
    real = torch.randn(3, 3, 64, 64)
    weights = centre_l2_weights(4, 10.0, torch.device("cpu"))
    wtl2 = 0.999
    (wtl2 * weighted_l2(fake, real, weights)).backward()
    mse_grad = 2 * (fake.detach() - real) / fake.numel()  # nn.MSECriterion's backward
    lua = wtl2 * weights * mse_grad
    torch.testing.assert_close(fake.grad, lua)
    ring_err = torch.zeros(1, 3, 64, 64)
    ring_err[..., 0, :] = 1.0  # an error of 1 on one ring row only
    assert weighted_l2(ring_err, torch.zeros_like(ring_err), weights).item() == 10 * 3 * 64 / (3 * 64 * 64)


def test_ring_source_copies_the_hidden_ring_from_the_nearest_known_pixel() -> None:
    rows, cols = ring_source(4)
    image = torch.arange(128 * 128).view(128, 128)
    out = image[rows, cols]
    assert out[33, 50] == image[31, 50]  # top ring: from the row above the hole
    assert out[60, 94] == image[60, 96]  # right ring: from the column after the hole
    assert out[93, 40] == image[96, 40]  # bottom ring
    assert torch.equal(out[36:92, 36:92], image[36:92, 36:92])  # inner square untouched
    outside = torch.ones(128, 128, dtype=torch.bool)
    outside[32:96, 32:96] = False
    assert torch.equal(out[outside], image[outside])
    assert not torch.equal(out[32:96, 32:96], image[32:96, 32:96])
