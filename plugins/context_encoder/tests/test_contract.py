"""The Context Encoder held to the plugin kit's contract, as any third-party plugin would be."""

from __future__ import annotations

import inpaintbench_context_encoder.plugin
from inpaintbench_context_encoder.model import ContextEncoder

from inpaintbench.testing import check_model, check_registration, prepare_context

TINY = {"steps": "2", "batch_size": "4", "bottleneck": "16"}


def test_registration_passes() -> None:
    assert check_registration(inpaintbench_context_encoder.plugin) == {"model": ["context_encoder"]}


def test_a_prepared_model_keeps_the_contract(tmp_path) -> None:
    model = ContextEncoder()
    model.prepare(prepare_context(cache_dir=tmp_path, image_size=128, options=TINY))
    check_model(model, image_size=128, regimes=("center", "random"))
