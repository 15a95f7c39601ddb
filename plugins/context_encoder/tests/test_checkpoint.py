"""Checkpoints: safetensors plus a JSON pointer, exact round trips, and writes that a crash at any
point leaves loadable."""

from __future__ import annotations

import hashlib
import json
from types import SimpleNamespace

import pytest
import torch
from inpaintbench_context_encoder import checkpoint as checkpoint_module
from inpaintbench_context_encoder.checkpoint import (
    FORMAT,
    HEADER_KEY,
    POINTER,
    Checkpoint,
    find_checkpoint,
    load_generator,
    open_checkpoint,
    restore,
    save_checkpoint,
)
from inpaintbench_context_encoder.config import TrainConfig
from inpaintbench_context_encoder.step import TrainStep
from safetensors import safe_open
from torch import nn

from inpaintbench import InpaintbenchError

CPU = torch.device("cpu")


def meta(cfg, step: int) -> dict:
    return {"config": cfg.to_json(), "step": step, "elapsed_s": 1.5, "complete": True}


@pytest.fixture
def trained(tiny_config, fixed_batch):
    """A TrainStep after one step (so batch-norm running statistics and Adam moments are not initial)."""
    torch.manual_seed(0)
    step = TrainStep(tiny_config(), CPU)
    step(fixed_batch[:2])
    return step


def probe() -> torch.Tensor:
    return torch.rand(3, 3, 128, 128, generator=torch.Generator().manual_seed(9)) * 2 - 1


def test_round_trip_gives_identical_outputs(trained, tmp_path):
    ckpt = save_checkpoint(tmp_path, trained, meta(trained.cfg, 1))
    loaded = load_generator(find_checkpoint(tmp_path), CPU)
    assert not loaded.training
    with torch.no_grad():
        assert torch.equal(loaded(probe()), trained.gen.eval()(probe()))
    original = trained.gen.state_dict()
    assert all(torch.equal(v, original[k]) for k, v in loaded.state_dict().items())
    assert ckpt.weights_path == tmp_path / "weights-00000001.safetensors"


def test_restore_continues_training_exactly(trained, tiny_config, fixed_batch, tmp_path):
    """Networks and Adam state restored into a fresh TrainStep: the next step's losses and weights are
    those of the original TrainStep taking the same step."""
    ckpt = save_checkpoint(tmp_path, trained, meta(trained.cfg, 1))
    torch.manual_seed(123)  # another initialisation, overwritten by the restore
    resumed = TrainStep(tiny_config(), CPU)
    restore(find_checkpoint(tmp_path), resumed)
    assert ckpt.meta["optimizer_groups"]["generator"][0]["lr"] == 0.002
    batch = fixed_batch[2:]
    expected, got = trained(batch), resumed(batch)
    assert {k: v.item() for k, v in got.items()} == {k: v.item() for k, v in expected.items()}
    for net in ("gen", "disc"):
        a, b = getattr(trained, net).state_dict(), getattr(resumed, net).state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a)


def test_files_are_safetensors_and_json_without_pickle(trained, tmp_path):
    save_checkpoint(tmp_path, trained, meta(trained.cfg, 1))
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [POINTER, "optimizer-00000001.safetensors", "weights-00000001.safetensors"]
    for path in tmp_path.iterdir():
        head = path.read_bytes()[:4]
        assert head[:1] != b"\x80" and head != b"PK\x03\x04", f"{path.name} looks like pickle / torch.save"
    pointer = json.loads((tmp_path / POINTER).read_text())
    assert pointer["format"] == FORMAT and pointer["config"] == trained.cfg.to_json()
    for kind in ("weights", "optimizer"):
        data = (tmp_path / pointer[kind]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == pointer[f"{kind}_sha256"]
    with safe_open(tmp_path / pointer["weights"], "pt") as fh:
        header = fh.metadata()
        keys = set(fh.keys())
    assert json.loads(header[HEADER_KEY]) == {"format": FORMAT, "config": trained.cfg.to_json()}
    n_gen = len(trained.gen.state_dict())
    assert sum(k.startswith("generator.") for k in keys) == n_gen
    assert sum(k.startswith("discriminator.") for k in keys) == len(trained.disc.state_dict())
    with safe_open(tmp_path / pointer["optimizer"], "pt") as fh:
        moments = set(fh.keys())
    assert {k.rsplit(".", 1)[1] for k in moments} == {"exp_avg", "exp_avg_sq", "step"}


def test_the_same_weights_give_the_same_file(tmp_path):
    """Saving one state twenty times gives one file (a swap every time has odds 2^-19 of passing)."""
    torch.manual_seed(0)
    nets = SimpleNamespace(gen=nn.Linear(3, 2), disc=nn.Linear(2, 1))
    nets.opt_g, nets.opt_d = torch.optim.Adam(nets.gen.parameters()), torch.optim.Adam(nets.disc.parameters())
    cfg = TrainConfig(steps=1)
    hashes = {
        save_checkpoint(tmp_path / str(k), nets, meta(cfg, 1)).meta["weights_sha256"] for k in range(20)
    }
    assert len(hashes) == 1


def test_open_checkpoint_accepts_directory_pointer_or_bare_weights(trained, tmp_path):
    """A bare weights file carries its configuration in the safetensors header."""
    save_checkpoint(tmp_path, trained, meta(trained.cfg, 1))
    weights = tmp_path / "weights-00000001.safetensors"
    outputs = []
    for path in (tmp_path, tmp_path / POINTER, weights):
        ckpt = open_checkpoint(path)
        assert ckpt.config == trained.cfg and ckpt.weights_path == weights
        with torch.no_grad():
            outputs.append(load_generator(ckpt, CPU)(probe()))
    assert torch.equal(outputs[0], outputs[1]) and torch.equal(outputs[0], outputs[2])


def test_a_leftover_temporary_file_does_not_break_loading(trained, fixed_batch, tmp_path):
    """A kill during a write leaves ``.<name>.tmp-<pid>`` with partial bytes: the pointer still names the
    complete files, they load, and the next save goes through."""
    save_checkpoint(tmp_path, trained, meta(trained.cfg, 1))
    leftover = tmp_path / ".weights-00000002.safetensors.tmp-99999"
    leftover.write_bytes((tmp_path / "weights-00000001.safetensors").read_bytes()[:1000])
    ckpt = find_checkpoint(tmp_path)
    assert ckpt.step == 1
    load_generator(ckpt, CPU)
    trained(fixed_batch[2:])
    assert save_checkpoint(tmp_path, trained, meta(trained.cfg, 2)).step == 2
    assert find_checkpoint(tmp_path).step == 2
    load_generator(find_checkpoint(tmp_path), CPU)


def test_a_crash_before_the_pointer_leaves_the_previous_checkpoint(
    trained, fixed_batch, tmp_path, monkeypatch
):
    """The data files of step 2 land, then the process dies before the pointer is replaced: step 1 is
    still what the directory holds, verified against its sha256. The next save removes the orphans."""
    save_checkpoint(tmp_path, trained, meta(trained.cfg, 1))
    with torch.no_grad():
        before = load_generator(find_checkpoint(tmp_path), CPU)(probe())
    real_write = checkpoint_module.write_atomic

    def dies_at_the_pointer(path, data):
        if path.name == POINTER:
            raise OSError("simulated crash before the pointer is written")
        return real_write(path, data)

    trained(fixed_batch[2:])
    monkeypatch.setattr(checkpoint_module, "write_atomic", dies_at_the_pointer)
    with pytest.raises(OSError, match="simulated crash"):
        save_checkpoint(tmp_path, trained, meta(trained.cfg, 2))
    assert (tmp_path / "weights-00000002.safetensors").is_file()
    ckpt = find_checkpoint(tmp_path)
    assert ckpt.step == 1
    with torch.no_grad():
        assert torch.equal(load_generator(ckpt, CPU)(probe()), before)

    monkeypatch.setattr(checkpoint_module, "write_atomic", real_write)
    save_checkpoint(tmp_path, trained, meta(trained.cfg, 3))
    assert sorted(p.name for p in tmp_path.glob("*.safetensors")) == [
        "optimizer-00000003.safetensors",
        "weights-00000003.safetensors",
    ]


def test_write_atomic_replaces_in_one_move(tmp_path):
    target = tmp_path / "file.bin"
    target.write_bytes(b"old")
    sha = checkpoint_module.write_atomic(target, b"new contents")
    assert target.read_bytes() == b"new contents" and sha == hashlib.sha256(b"new contents").hexdigest()
    assert [p.name for p in tmp_path.iterdir()] == ["file.bin"]  # no temporary file left behind


def test_a_corrupted_weights_file_is_refused(trained, tmp_path):
    ckpt = save_checkpoint(tmp_path, trained, meta(trained.cfg, 1))
    data = bytearray(ckpt.weights_path.read_bytes())
    data[-1] ^= 0xFF
    ckpt.weights_path.write_bytes(bytes(data))
    with pytest.raises(InpaintbenchError, match="weights-00000001.safetensors.*sha256"):
        load_generator(find_checkpoint(tmp_path), CPU)


def test_unreadable_or_mismatched_checkpoints_are_errors(trained, tiny_config, tmp_path):
    with pytest.raises(InpaintbenchError, match="does not exist"):
        open_checkpoint(tmp_path / "missing")
    (tmp_path / "other.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(InpaintbenchError, match="is not a inpaintbench-context-encoder/1 checkpoint"):
        open_checkpoint(tmp_path / "other.json")
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(InpaintbenchError, match="cannot be read"):
        open_checkpoint(tmp_path / "broken.json")
    ckpt = save_checkpoint(tmp_path / "run", trained, meta(trained.cfg, 1))
    wrong = Checkpoint(ckpt.directory, {**ckpt.meta, "config": tiny_config(bottleneck=32).to_json()})
    with pytest.raises(InpaintbenchError, match="does not fit its config"):
        load_generator(wrong, CPU)
    assert find_checkpoint(tmp_path / "empty") is None
