"""The CUDA path: bf16 autocast, channels_last, loader workers and pinned memory; skipped without a GPU."""

from __future__ import annotations

import pytest
import torch
from inpaintbench_context_encoder.checkpoint import load_generator
from inpaintbench_context_encoder.infer import inpaint_centre
from inpaintbench_context_encoder.step import TrainStep
from inpaintbench_context_encoder.trainer import train

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def test_train_step_on_cuda_uses_bf16_autocast(tiny_config, fixed_batch):
    cuda = torch.device("cuda")
    torch.manual_seed(0)
    step = TrainStep(tiny_config(precision="auto"), cuda)
    assert step.precision == "bf16" and step.channels_last
    dtypes: list[torch.dtype] = []
    step.gen.register_forward_hook(lambda m, i, out: dtypes.append(out.dtype))
    losses = step(fixed_batch[:2].to(cuda))
    assert dtypes == [torch.bfloat16]
    for value in losses.values():
        assert value.device.type == "cuda" and value.dtype == torch.float32 and torch.isfinite(value)


def test_train_and_inpaint_on_cuda(tiny_config, train_images, tmp_path):
    """One trainer step on CUDA (loader workers, pinned memory), then inpainting under bf16 autocast:
    N x 3 x H x W in [0, 1], close to the same checkpoint's fp32 inpainting on the CPU."""
    cuda = torch.device("cuda")
    ckpt = train(tiny_config(steps=1, precision="auto"), train_images, tmp_path, cuda, progress=False)
    assert (ckpt.step, ckpt.meta["precision"], ckpt.meta["device"]) == (1, "bf16", "cuda")
    images = torch.rand(2, 3, 128, 128, generator=torch.Generator().manual_seed(3))
    masks = torch.zeros(2, 1, 128, 128)
    masks[:, :, 32:96, 32:96] = 1
    with torch.autocast("cuda", dtype=torch.bfloat16):
        out = inpaint_centre(load_generator(ckpt, cuda), images.to(cuda), masks.to(cuda), 4)
    assert out.shape == (2, 3, 128, 128) and out.device.type == "cuda" and out.dtype == torch.float32
    assert out.min() >= 0 and out.max() <= 1
    reference = inpaint_centre(load_generator(ckpt, torch.device("cpu")), images, masks, 4)
    assert (out.cpu() - reference).abs().max() < 0.1
