"""Presets (test_training.py::test_options covers the option parsing)."""

from __future__ import annotations

from inpaintbench_context_encoder.config import TrainConfig, config_from_options


def test_paper_preset_is_the_readme_command() -> None:
    cfg = config_from_options({"preset": "paper"}, "center")
    length = (cfg.bottleneck, cfg.batch_size, cfg.load_size, cfg.epochs, cfg.minutes)
    assert length == (4000, 64, 350, 500, None)
    recipe = (cfg.lr_d, cfg.lr_g, cfg.beta1, cfg.wtl2, cfg.overlap, cfg.overlap_weight)
    assert recipe == (0.0002, 0.002, 0.5, 0.999, 4, 10.0)
    assert not cfg.condition_adv and cfg.augment == "flip"  # random crops and mirror images only


def test_quick_preset_is_time_limited_per_network() -> None:
    assert config_from_options({}, "center").minutes == 7.0
    assert config_from_options({}, "random").minutes == 5.5
    assert config_from_options({"mode": "random"}).mode == "random"


def test_cache_key_follows_config_and_data() -> None:
    a, b = TrainConfig(), TrainConfig(bottleneck=100)
    assert a.key("x") == TrainConfig().key("x") != a.key("y")
    assert a.key("x") != b.key("x")
    assert TrainConfig.from_json(b.to_json()) == b


def test_every_option_the_config_parses_is_declared_to_the_host() -> None:
    """The host rejects options no model declares, so each one the configuration reads must be listed."""
    from inpaintbench_context_encoder.config import OVERRIDES
    from inpaintbench_context_encoder.model import ContextEncoder

    assert set(OVERRIDES) | {"preset", "checkpoint", "mode", "out", "tta"} == set(ContextEncoder.options)
