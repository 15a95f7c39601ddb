"""The GPU path: bf16 autocast, channels_last, loader workers with pinned memory."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from inpaintbench_context_encoder.config import TrainConfig
from inpaintbench_context_encoder.data import TrainingImages
from inpaintbench_context_encoder.infer import inpaint_centre
from inpaintbench_context_encoder.trainer import train

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device visible to torch"),
]


def test_training_and_inference_on_cuda(tmp_path) -> None:
    from inpaintbench_context_encoder.checkpoint import load_generator

    cuda = torch.device("cuda")
    rng = np.random.default_rng(0)
    data = TrainingImages([rng.integers(0, 256, (160, 160, 3), dtype=np.uint8) for _ in range(4)], "fp")
    cfg = TrainConfig(bottleneck=4000, batch_size=16, steps=3, minutes=None)
    ckpt = train(cfg, data, tmp_path, cuda, log=lambda _: None, progress=False)
    assert ckpt.meta["precision"] == "bf16" and ckpt.meta["device"].startswith("cuda")
    gen = load_generator(ckpt, cuda)
    images = torch.rand(2, 3, 128, 128, device=cuda)
    masks = torch.zeros(2, 1, 128, 128, device=cuda)
    masks[..., 32:96, 32:96] = 1
    out = inpaint_centre(gen, images, masks, cfg.overlap)
    assert out.device.type == "cuda" and out.shape == images.shape
    assert torch.isfinite(out).all()
