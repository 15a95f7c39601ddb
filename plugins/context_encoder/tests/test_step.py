"""The training step beyond test_training.py: random-region and conditionAdv steps, and the matmul
code layers training exactly like the standard convolutions."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from inpaintbench_context_encoder.config import TrainConfig
from inpaintbench_context_encoder.networks import standard_layers
from inpaintbench_context_encoder.step import TrainStep

CPU = torch.device("cpu")


def batch(n: int = 8, seed: int = 1) -> torch.Tensor:
    """Smooth images (blurred noise), so the centre is predictable from the context."""
    noise = torch.rand(n, 3, 32, 32, generator=torch.Generator().manual_seed(seed))
    return F.interpolate(noise, size=128, mode="bilinear", align_corners=False) * 2 - 1


def make_step(**kw) -> TrainStep:
    torch.manual_seed(0)
    return TrainStep(TrainConfig(**{"bottleneck": 32, "batch_size": 8, "precision": "fp32", **kw}), CPU)


@pytest.mark.slow
def test_random_region_step_learns_and_needs_a_hole() -> None:
    step = make_step(mode="random", lr_g=0.0005, lr_d=0.00005)
    real = batch(6)
    hole = torch.zeros(6, 1, 128, 128, dtype=torch.bool)
    hole[..., 40:70, 20:90] = True
    losses = [step(real, hole)["g_l2"].item() for _ in range(10)]
    assert max(losses[-3:]) < 0.8 * losses[0]
    with pytest.raises(ValueError, match="hole"):
        step(real)


def test_condition_adv_step_runs() -> None:
    step = make_step(condition_adv=True)
    out = step(batch(4))
    assert set(out) == {"d", "g_adv", "g_l2", "g"}
    assert all(torch.isfinite(v) for v in out.values())


@pytest.mark.slow
def test_matmul_code_layers_train_exactly_like_the_standard_layers() -> None:
    fast = make_step(bottleneck=64)
    plain = make_step(bottleneck=64)
    plain.gen, plain.disc = standard_layers(fast.gen), standard_layers(fast.disc)
    plain.opt_g = torch.optim.Adam(plain.gen.parameters(), lr=0.002, betas=(0.5, 0.999))
    plain.opt_d = torch.optim.Adam(plain.disc.parameters(), lr=0.0002, betas=(0.5, 0.999))
    real = batch()
    a, b = fast(real), plain(real)
    for key in a:  # before any update: the same function to float rounding
        assert a[key].item() == pytest.approx(b[key].item(), rel=1e-5), key
    for _ in range(3):  # Adam turns rounding-level gradient differences into small weight differences
        a, b = fast(real), plain(real)
        assert a["g_l2"].item() == pytest.approx(b["g_l2"].item(), rel=1e-3)


def test_channels_last_step_keeps_every_gradient_in_its_parameters_layout() -> None:
    """CUDA's fused Adam refuses a gradient whose strides differ from its parameter's (found on an
    H100: the matmul code layers returned contiguous gradients for channels_last weights). The CPU's
    fused Adam tolerates the mismatch, so the invariant is asserted directly; the losses must match
    a contiguous-layout step from the same start."""
    torch.manual_seed(0)
    cfg = TrainConfig(bottleneck=64, batch_size=4, precision="fp32")
    step = TrainStep(cfg, CPU)
    torch.manual_seed(0)
    reference = TrainStep(cfg, CPU, channels_last=False)
    assert step.channels_last and not reference.channels_last
    real = batch(4)
    a, b = step(real), reference(real)
    for key in a:
        assert a[key].item() == pytest.approx(b[key].item(), rel=1e-5), key
    convs = 0
    for net in (step.gen, step.disc):
        for name, p in net.named_parameters():
            assert p.grad is not None and p.grad.stride() == p.stride(), name
            convs += p.dim() == 4 and p.is_contiguous(memory_format=torch.channels_last) and p.shape[-1] > 1
    assert convs >= 10  # the convolutions really are channels_last
