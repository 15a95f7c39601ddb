"""Presets (test_training.py::test_options covers the option parsing)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from inpaintbench_context_encoder.config import QUICK_STEPS, TrainConfig, config_from_options


def test_paper_preset_is_the_readme_command() -> None:
    cfg = config_from_options({"preset": "paper"}, "center")
    length = (cfg.bottleneck, cfg.batch_size, cfg.load_size, cfg.epochs, cfg.minutes)
    assert length == (4000, 64, 350, 500, None)
    recipe = (cfg.lr_d, cfg.lr_g, cfg.beta1, cfg.wtl2, cfg.overlap, cfg.overlap_weight)
    assert recipe == (0.0002, 0.002, 0.5, 0.999, 4, 10.0)
    assert not cfg.condition_adv and cfg.augment == "flip"  # random crops and mirror images only


def test_quick_preset_is_a_fixed_step_count_per_network() -> None:
    """No wall-clock budget: the same network on a fast, slow or busy machine; lr decays over the steps."""
    centre, random = config_from_options({}, "center"), config_from_options({}, "random")
    assert (centre.steps, random.steps) == (QUICK_STEPS["center"], QUICK_STEPS["random"])
    assert centre.minutes is None and random.minutes is None and centre.epochs is None
    assert centre.lr_decay and centre.length(64) == random.length(64) == "steps"
    assert config_from_options({"mode": "random"}).mode == "random"


def test_minutes_stays_an_explicit_choice_and_is_named_as_such() -> None:
    cfg = config_from_options({"minutes": "2.5"}, "center")
    assert (cfg.minutes, cfg.steps, cfg.epochs, cfg.length(64)) == (2.5, None, None, "minutes")
    assert config_from_options({"minutes": "1", "steps": "10"}).length(64) == "minutes"
    paper = config_from_options({"preset": "paper"})
    assert paper.length(64) == "epochs" and paper.length(14_900) == "epochs"
    assert config_from_options({"preset": "paper", "steps": "5"}).length(64) == "steps"
    assert config_from_options({"threads": "3"}).threads == 3


def test_cache_key_follows_config_data_precision_threads_and_device() -> None:
    a = TrainConfig(precision="fp32", threads=2)
    assert a.key("x", "cpu:avx2") == TrainConfig(precision="fp32", threads=2).key("x", "cpu:avx2")
    others = [
        a.key("y", "cpu:avx2"),
        a.key("x", "cpu:avx512_bf16"),
        a.key("x", "cuda:NVIDIA H100 80GB HBM3"),
        replace(a, precision="bf16").key("x", "cpu:avx2"),
        replace(a, threads=1).key("x", "cpu:avx2"),
        replace(a, bottleneck=100).key("x", "cpu:avx2"),
        a.key("x", "cpu:avx2", world_size=2),  # torchrun: batch norm statistics per process
    ]
    assert len({a.key("x", "cpu:avx2"), *others}) == 1 + len(others)
    assert a.key("x", "cpu:avx2", world_size=1) == a.key("x", "cpu:avx2")  # one process: the key it had
    with pytest.raises(ValueError, match="resolved precision"):
        TrainConfig().key("x", "cpu:avx2")
    assert TrainConfig.from_json(a.to_json()) == a


def test_every_option_the_config_parses_is_declared_to_the_host() -> None:
    """The host rejects options no model declares, so each one the configuration reads must be listed."""
    from inpaintbench_context_encoder.config import OVERRIDES
    from inpaintbench_context_encoder.model import ContextEncoder

    others = {"preset", "checkpoint", "mode", "out", "tta", "image_cache"}
    assert set(OVERRIDES) | others == set(ContextEncoder.options)
