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


@pytest.mark.slow
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


@pytest.mark.slow
def test_a_longer_budget_extends_a_finished_run(tmp_path) -> None:
    quiet(tmp_path, cfg(steps=2))
    assert quiet(tmp_path, cfg(steps=2)).step == 2  # nothing left to do
    longer = quiet(tmp_path, cfg(steps=3))
    assert longer.step == 3 and longer.config.steps == 3
    rows = (tmp_path / "losses.csv").read_text().splitlines()[1:]
    assert [r.split(",")[0] for r in rows] == ["2", "3"]


@pytest.mark.slow
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


def _damaged(tmp_path, edit) -> str:
    """Train a tiny checkpoint, apply ``edit(directory)``, and return the one-line error of using it."""
    directory = tmp_path / "ckpt"
    quiet(directory, cfg())
    edit(directory)
    with pytest.raises(InpaintbenchError) as info:
        load_generator(open_checkpoint(directory), CPU)
    message = str(info.value)
    assert "\n" not in message
    return message


def _without(directory, key: str) -> None:
    path = directory / "checkpoint.json"
    path.write_text(json.dumps({k: v for k, v in json.loads(path.read_text()).items() if k != key}))


def _pointer(directory, **changes) -> None:
    path = directory / "checkpoint.json"
    path.write_text(json.dumps(json.loads(path.read_text()) | changes))


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda d: (d / "checkpoint.json").write_text("[1, 2]"), "holds a JSON list, not an object"),
        (lambda d: (d / "checkpoint.json").write_text("{"), "is not valid JSON"),
        (lambda d: _pointer(d, config=None), "has no 'config' object"),
        (lambda d: _pointer(d, step="abc"), "has step 'abc', not an integer"),
        (lambda d: _pointer(d, weights="/dev/zero"), "names the file '/dev/zero', which is not in its"),
        (lambda d: _pointer(d, weights="../elsewhere.safetensors"), "which is not in its folder"),
        (lambda d: next(d.glob("weights-*")).write_bytes(b"changed"), "does not match the sha256"),
        (lambda d: next(d.glob("weights-*")).unlink(), "is missing although checkpoint.json names it"),
        (lambda d: _pointer(d, elapsed_s=None), "has elapsed_s None, not a number of seconds"),
        (lambda d: _without(d, "elapsed_s"), "has elapsed_s None, not a number of seconds"),
        (lambda d: _without(d, "optimizer_groups"), "has no usable 'optimizer_groups'"),
        (lambda d: _pointer(d, optimizer_groups={"generator": []}), "has no usable 'optimizer_groups'"),
    ],
)
@pytest.mark.slow
def test_a_damaged_checkpoint_is_one_line_naming_the_file_and_the_cure(tmp_path, edit, expected) -> None:
    message = _damaged(tmp_path, edit)
    assert expected in message and str(tmp_path / "ckpt") in message
    if "sha256" in expected or "missing" in expected or "JSON" in expected:
        assert "delete" in message and "to train it again" in message


def test_a_pointer_to_a_fifo_is_refused_without_reading_it(tmp_path) -> None:
    import os

    def fifo(directory) -> None:
        weights = next(directory.glob("weights-*"))
        weights.unlink()
        os.mkfifo(weights)

    assert "is not a regular file" in _damaged(tmp_path, fifo)


def test_a_file_given_on_its_own_is_never_cured_by_deleting_its_folder(tmp_path) -> None:
    """/dev/zero, or a bare file in a folder of the user's: the advice names the file and no folder."""
    bare = tmp_path / "model.safetensors"
    bare.write_bytes(b"\xff" * 16)
    for path in ("/dev/zero", bare):
        with pytest.raises(InpaintbenchError) as info:
            open_checkpoint(path)
        message = str(info.value)
        assert f"'{path}'" in message and "delete" not in message, message
        assert message.endswith("give another checkpoint")


def test_a_fifo_pointer_is_refused_not_taken_for_no_checkpoint(tmp_path) -> None:
    """A FIFO checkpoint.json must not be read (it would hang) nor ignored (the network retrained)."""
    import os

    os.mkfifo(tmp_path / "checkpoint.json")
    with pytest.raises(InpaintbenchError, match="checkpoint.json' is not a regular file: delete"):
        ckpt_mod.find_checkpoint(tmp_path)
    with pytest.raises(InpaintbenchError, match="is not a regular file"):
        quiet(tmp_path, cfg())
    assert sorted(os.listdir(tmp_path)) == [".building.lock", "checkpoint.json"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"this is a text file, not weights\n", "header length does not fit the file"),
        ((2**63).to_bytes(8, "little") + b"{}", "header length does not fit the file"),
        ((4).to_bytes(8, "little") + b"[12]", "header is not a JSON object"),
        ((4).to_bytes(8, "little") + b"\xff\xfe{}", "header is not JSON"),
    ],
)
def test_a_hostile_safetensors_file_is_refused_in_one_line(tmp_path, content, expected) -> None:
    path = tmp_path / "model.safetensors"
    path.write_bytes(content)
    with pytest.raises(InpaintbenchError, match=expected):
        open_checkpoint(path)


def test_training_again_verifies_a_finished_cached_checkpoint(tmp_path) -> None:
    quiet(tmp_path, cfg())
    weights = next(tmp_path.glob("weights-*"))
    weights.write_bytes(weights.read_bytes()[:-1] + b"\0")
    with pytest.raises(InpaintbenchError, match="does not match the sha256"):
        quiet(tmp_path, cfg())


@pytest.mark.slow
@pytest.mark.parametrize("key", ["elapsed_s", "optimizer_groups"])
def test_a_damaged_checkpoint_given_to_run_is_one_line_before_the_folder(tmp_path, key) -> None:
    """Opened by the model's ``check``: exit status 2 and no folder, not a model failure after it."""
    from inpaintbench.testing import invoke

    quiet(tmp_path / "ckpt", cfg())
    _without(tmp_path / "ckpt", key)
    out = tmp_path / "run"
    result = invoke(
        ["run", "--model", "context_encoder", "--checkpoint", str(tmp_path / "ckpt"), "--masks", "center",
         "--metrics", "psnr", "--limit", "2", "--no-progress", "--out", str(out)],
        env={"INPAINTBENCH_HOME": str(tmp_path / "home")},
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: checkpoint ") and key in line and "delete" in line, line
    assert not out.exists()
