"""Checkpoints: round trips, resuming, and surviving a kill in the middle of a save."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from inpaintbench_context_encoder import checkpoint as ckpt_mod
from inpaintbench_context_encoder.checkpoint import load_generator, open_checkpoint
from inpaintbench_context_encoder.config import TrainConfig
from inpaintbench_context_encoder.data import TrainingImages
from inpaintbench_context_encoder.trainer import train

from inpaintbench import InpaintbenchError

CPU = torch.device("cpu")


def data() -> TrainingImages:
    rng = np.random.default_rng(0)
    return TrainingImages([rng.integers(0, 256, (140, 140, 3), dtype=np.uint8) for _ in range(3)], "fp")


def cfg(**kw) -> TrainConfig:
    return TrainConfig(**{"bottleneck": 16, "batch_size": 4, "steps": 2, "minutes": None, **kw})


def quiet(directory, config, **kw):
    return train(config, data(), directory, CPU, log=lambda _: None, progress=False, **kw)


def generator_state(ckpt) -> dict[str, torch.Tensor]:
    return load_generator(ckpt, CPU).state_dict()


def test_round_trip_gives_identical_outputs(tmp_path) -> None:
    ckpt = quiet(tmp_path, cfg())
    assert ckpt.complete and ckpt.step == 2
    assert sorted(p.name for p in tmp_path.glob("*.safetensors")) == [
        "optimizer-00000002.safetensors",
        "weights-00000002.safetensors",
    ]
    x = torch.rand(2, 3, 128, 128) * 2 - 1
    first = load_generator(open_checkpoint(tmp_path), CPU)(x)
    again = load_generator(open_checkpoint(tmp_path / "checkpoint.json"), CPU)(x)
    bare = load_generator(open_checkpoint(ckpt.weights_path), CPU)(x)  # config from the file header
    assert torch.equal(first, again) and torch.equal(first, bare)
    assert first.shape == (2, 3, 64, 64)
    losses = (tmp_path / "losses.csv").read_text().splitlines()
    assert losses[0] == "step,elapsed_s,images_per_s,d,g_adv,g_l2,g" and losses[-1].startswith("2,")
    assert (tmp_path / "samples" / "step-00000002.png").is_file()


def test_a_longer_budget_extends_a_finished_run(tmp_path) -> None:
    quiet(tmp_path, cfg(steps=2))
    assert quiet(tmp_path, cfg(steps=2)).step == 2  # nothing left to do
    longer = quiet(tmp_path, cfg(steps=3))
    assert longer.step == 3 and longer.config.steps == 3
    rows = (tmp_path / "losses.csv").read_text().splitlines()[1:]
    assert [r.split(",")[0] for r in rows] == ["2", "3"]


def test_a_kill_during_save_leaves_the_previous_checkpoint_usable(tmp_path, monkeypatch) -> None:
    before = quiet(tmp_path, cfg(steps=1))
    weights_before = generator_state(before)
    real_replace = ckpt_mod.os.replace

    def die_at_pointer(src, dst):
        if str(dst).endswith("checkpoint.json"):
            raise KeyboardInterrupt  # killed after the new tensors, before the pointer
        real_replace(src, dst)

    monkeypatch.setattr(ckpt_mod.os, "replace", die_at_pointer)
    with pytest.raises(KeyboardInterrupt):
        quiet(tmp_path, cfg(steps=2))
    monkeypatch.undo()
    survivor = open_checkpoint(tmp_path)
    assert survivor.step == 1
    after = generator_state(survivor)
    assert all(torch.equal(weights_before[k], after[k]) for k in after)
    assert quiet(tmp_path, cfg(steps=2)).step == 2  # and training carries on from it


def test_corrupt_or_foreign_files_give_clear_errors(tmp_path) -> None:
    ckpt = quiet(tmp_path, cfg(steps=1))
    data_bytes = bytearray(ckpt.weights_path.read_bytes())
    data_bytes[-1] ^= 0xFF
    ckpt.weights_path.write_bytes(bytes(data_bytes))
    with pytest.raises(InpaintbenchError, match="sha256"):
        load_generator(open_checkpoint(tmp_path), CPU)
    (tmp_path / "other.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(InpaintbenchError, match="not a"):
        open_checkpoint(tmp_path / "other.json")
    with pytest.raises(InpaintbenchError, match="does not exist"):
        open_checkpoint(tmp_path / "missing")
