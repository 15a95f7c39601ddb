"""What the generator sees and how its L2 term weighs the prediction (train.lua's wtl2Matrix), checked
against numpy computations of train.lua's definitions, for training and for inference."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from inpaintbench_context_encoder.infer import inpaint_centre, inpaint_random
from inpaintbench_context_encoder.networks import Generator, init_dcgan
from inpaintbench_context_encoder.recipe import (
    centre_input,
    centre_l2_weights,
    centre_target,
    random_input,
    weighted_l2,
)
from inpaintbench_context_encoder.ring import biharmonic_centre
from inpaintbench_context_encoder.step import TrainStep
from skimage.restoration import inpaint_biharmonic

#: The dataset mean colour (117, 104, 123) / 255 mapped to [-1, 1].
MEAN = np.array([117.0, 104.0, 123.0]) / 255.0 * 2.0 - 1.0


def ring_weights_numpy(side: int = 64, ring: int = 4, weight: float = 10.0) -> np.ndarray:
    """train.lua's wtl2Matrix / wtl2: ``weight`` everywhere, 1 on the inner (side - 2 ring) square."""
    w = np.full((side, side), weight)
    w[ring : side - ring, ring : side - ring] = 1.0
    return w


def test_ring_weights():
    w = centre_l2_weights(4, 10.0, torch.device("cpu"))
    assert w.shape == (1, 1, 64, 64)
    np.testing.assert_array_equal(w[0, 0].numpy(), ring_weights_numpy())
    assert int((w == 10).sum()) == 64**2 - 56**2 == 960
    assert int((w == 1).sum()) == 56**2


def test_weighted_l2_with_unit_error_everywhere():
    """Error 1 on every pixel: (960 ring pixels x 10 + 3136 inner pixels x 1) / 4096 = 3.109375."""
    pred, target = torch.zeros(2, 3, 64, 64), torch.ones(2, 3, 64, 64)
    loss = weighted_l2(pred, target, centre_l2_weights(4, 10.0, torch.device("cpu")))
    assert loss.item() == (960 * 10 + 3136) / 4096 == 3.109375


def test_weighted_l2_and_its_gradient_match_numpy():
    """Loss: the mean over N x C x 64 x 64 of w (pred - target)^2. Gradient: 2 w (pred - target) / count,
    which is train.lua's MSECriterion backward multiplied by wtl2Matrix (divided by wtl2)."""
    g = torch.Generator().manual_seed(3)
    pred = (torch.rand(3, 3, 64, 64, generator=g) * 2 - 1).requires_grad_()
    target = torch.rand(3, 3, 64, 64, generator=g) * 2 - 1
    loss = weighted_l2(pred, target, centre_l2_weights(4, 10.0, torch.device("cpu")))
    loss.backward()
    p, t, w = pred.detach().double().numpy(), target.double().numpy(), ring_weights_numpy()
    assert loss.item() == pytest.approx(np.mean(w * (p - t) ** 2), rel=1e-6)
    np.testing.assert_allclose(pred.grad.numpy(), 2 * w * (p - t) / p.size, rtol=1e-5, atol=1e-12)


def test_weighted_l2_is_float32_for_bf16_predictions():
    pred = torch.zeros(2, 3, 64, 64, dtype=torch.bfloat16)
    loss = weighted_l2(pred, torch.ones(2, 3, 64, 64), centre_l2_weights(4, 10.0, torch.device("cpu")))
    assert loss.dtype == torch.float32 and loss.item() == 3.109375


def test_centre_input_fills_the_inner_56_square_with_the_mean_colour(fixed_batch):
    real = fixed_batch
    inp = centre_input(real, 4)
    hole = np.zeros((128, 128), dtype=bool)
    hole[36:92, 36:92] = True  # the 64 x 64 centre [32, 96) minus its 4-pixel ring
    assert hole.sum() == 56 * 56
    got, orig = inp.numpy(), real.numpy()
    for c in range(3):
        np.testing.assert_allclose(got[:, c][:, hole], MEAN[c], rtol=0, atol=1e-7)
    np.testing.assert_array_equal(got[:, :, ~hole], orig[:, :, ~hole])  # the ring keeps the context
    assert torch.equal(real, fixed_batch)  # the batch itself is left alone


def test_centre_target_is_the_64_centre(fixed_batch):
    assert torch.equal(centre_target(fixed_batch), fixed_batch[:, :, 32:96, 32:96])


def test_random_input_fills_hole_pixels(fixed_batch):
    hole = torch.rand(4, 1, 128, 128, generator=torch.Generator().manual_seed(2)) < 0.25
    inp = random_input(fixed_batch, hole).numpy()
    h = hole[:, 0].numpy()
    for c in range(3):
        np.testing.assert_allclose(inp[:, c][h], MEAN[c], rtol=0, atol=1e-7)
        np.testing.assert_array_equal(inp[:, c][~h], fixed_batch[:, c].numpy()[~h])


def test_train_step_uses_this_recipe(tiny_config, fixed_batch):
    """Centre mode: the step's inputs are these functions' outputs and its G loss is 0.999 L2 + 0.001 adv.
    Random mode: mean-filled holes, the whole image as target, plain L2 (weight 1)."""
    torch.manual_seed(0)
    step = TrainStep(tiny_config(), torch.device("cpu"))
    inp, target, weights = step.inputs(fixed_batch, None)
    assert torch.equal(inp, centre_input(fixed_batch, 4))
    assert torch.equal(target, centre_target(fixed_batch))
    assert torch.equal(weights, centre_l2_weights(4, 10.0, torch.device("cpu")))
    losses = step(fixed_batch[:2])
    assert losses["g"].item() == pytest.approx(0.999 * losses["g_l2"].item() + 0.001 * losses["g_adv"].item())

    random_step = TrainStep(tiny_config(mode="random"), torch.device("cpu"))
    hole = torch.zeros(4, 1, 128, 128, dtype=torch.bool)
    hole[:, :, 10:50, 20:90] = True
    inp, target, weights = random_step.inputs(fixed_batch, hole)
    assert torch.equal(inp, random_input(fixed_batch, hole))
    assert target is fixed_batch and weights == 1.0
    with pytest.raises(ValueError, match="hole mask"):
        random_step.inputs(fixed_batch, None)


@pytest.fixture(scope="module")
def small_generators() -> dict[str, Generator]:
    torch.manual_seed(0)
    nets = {"center": Generator(64, 64), "random": Generator(128, 64)}
    for net in nets.values():
        init_dcgan(net)
        net.eval()
    return nets


def centre_masks(n: int, size: int = 128) -> torch.Tensor:
    masks = torch.zeros(n, 1, size, size)
    masks[:, :, size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = 1
    return masks


def skimage_biharmonic(images: torch.Tensor) -> np.ndarray:
    """scikit-image's inpaint_biharmonic of the 64 x 64 centre, N x 3 x 128 x 128."""
    hole = np.zeros((128, 128), dtype=bool)
    hole[32:96, 32:96] = True
    pixels = images.permute(0, 2, 3, 1).double().numpy()
    return np.stack([inpaint_biharmonic(im, hole, channel_axis=-1) for im in pixels]).transpose(0, 3, 1, 2)


def test_biharmonic_ring_estimate_matches_scikit_image():
    """The precomputed linear map, clipped, gives scikit-image's biharmonic fill (even of noise, where
    clipping matters), and reads no hidden pixel."""
    images = torch.rand(2, 3, 128, 128, generator=torch.Generator().manual_seed(7))
    got = biharmonic_centre(images * 2 - 1)
    np.testing.assert_allclose((got.numpy() + 1) / 2, skimage_biharmonic(images), rtol=0, atol=1e-4)
    poisoned = images.clone()
    poisoned[:, :, 32:96, 32:96] = torch.rand(2, 3, 64, 64)
    assert torch.equal(biharmonic_centre(poisoned * 2 - 1), got)


def test_inpaint_centre_input(small_generators):
    """In the benchmark's centre regime the whole 64 x 64 centre is hidden: the generator gets the
    mean colour on the inner 56 x 56 (as in training) and, on the 4-pixel ring it was trained to see,
    the biharmonic estimate; hidden pixel values never reach it."""
    gen = small_generators["center"]
    seen: list[torch.Tensor] = []
    hook = gen.register_forward_pre_hook(lambda m, args: seen.append(args[0].clone()))
    images = torch.rand(2, 3, 128, 128, generator=torch.Generator().manual_seed(3))
    masks = centre_masks(2)
    noise = torch.rand(2, 3, 128, 128, generator=torch.Generator().manual_seed(4))
    poisoned = torch.where(masks > 0, noise, images)
    try:
        out = inpaint_centre(gen, images, masks, 4)
        out_poisoned = inpaint_centre(gen, poisoned, masks, 4)
    finally:
        hook.remove()
    assert torch.equal(out, out_poisoned) and torch.equal(seen[0], seen[1])
    inp = seen[0].numpy()
    for c in range(3):
        np.testing.assert_allclose(inp[:, c, 36:92, 36:92], MEAN[c], rtol=0, atol=1e-7)
    ring = np.zeros((128, 128), dtype=bool)
    ring[32:96, 32:96] = True
    ring[36:92, 36:92] = False
    assert ring.sum() == 960
    expected = skimage_biharmonic(images)[:, :, ring]
    np.testing.assert_allclose((inp[:, :, ring] + 1) / 2, expected, rtol=0, atol=1e-4)
    known = masks[0, 0].numpy() == 0
    np.testing.assert_array_equal(inp[:, :, known], images.numpy()[:, :, known] * 2 - 1)


def test_inpaint_centre_output(small_generators):
    """As test.lua: the inner 56 x 56 of the generator's output, mapped from [-1, 1] to [0, 1], fills
    the inner square; the ring keeps what the generator was shown; the context comes back as it went in."""
    gen = small_generators["center"]
    seen: list[torch.Tensor] = []
    hook = gen.register_forward_pre_hook(lambda m, args: seen.append(args[0].clone()))
    images = torch.rand(3, 3, 128, 128, generator=torch.Generator().manual_seed(5))
    masks = centre_masks(3)
    try:
        out = inpaint_centre(gen, images, masks, 4)
    finally:
        hook.remove()
    assert out.shape == (3, 3, 128, 128) and out.dtype == torch.float32
    with torch.no_grad():
        prediction = (gen(seen[0]) + 1) / 2
    torch.testing.assert_close(out[:, :, 36:92, 36:92], prediction[:, :, 4:60, 4:60], rtol=0, atol=1e-6)
    shown = ((seen[0] + 1) / 2).clamp(0, 1)
    ring = centre_masks(3).bool().expand(-1, 3, -1, -1).clone()
    ring[:, :, 36:92, 36:92] = False
    torch.testing.assert_close(out[ring], shown[ring], rtol=0, atol=1e-6)
    known = masks.expand(-1, 3, -1, -1) == 0
    torch.testing.assert_close(out[known], images[known], rtol=0, atol=1e-6)


@pytest.mark.parametrize("size", [96, 256])
def test_inpaint_at_other_run_sizes(small_generators, size):
    """Other run sizes are resized to the networks' 128 and back: N x 3 x size x size in [0, 1]."""
    images = torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(6))
    masks = centre_masks(2, size)
    for out in (
        inpaint_centre(small_generators["center"], images, masks, 4),
        inpaint_random(small_generators["random"], images, masks),
    ):
        assert out.shape == (2, 3, size, size) and out.dtype == torch.float32
        assert out.min() >= 0 and out.max() <= 1


def test_inpaint_random_ignores_hidden_pixels(small_generators):
    gen = small_generators["random"]
    g = torch.Generator().manual_seed(7)
    images = torch.rand(2, 3, 128, 128, generator=g)
    masks = (torch.rand(2, 1, 128, 128, generator=g) < 0.25).float()
    poisoned = torch.where(masks > 0, 1 - images, images)
    out = inpaint_random(gen, images, masks)
    assert torch.equal(out, inpaint_random(gen, poisoned, masks))
    with torch.no_grad():
        expected = (gen(random_input(images * 2 - 1, masks > 0)) + 1) / 2
    torch.testing.assert_close(out, expected.clamp(0, 1), rtol=0, atol=1e-6)
