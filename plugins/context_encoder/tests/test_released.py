"""The released Torch7 models (paris_inpaintCenter.t7): a netG file written here in Torch7's format
loads onto the Generator and computes what an independent numpy forward pass of the file computes;
a file of another architecture is refused in one line naming it and the first differing module."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch
from inpaintbench_context_encoder.checkpoint import load_generator, open_checkpoint
from inpaintbench_context_encoder.model import ContextEncoder
from inpaintbench_context_encoder.torch7 import Torch7Error, loads

from inpaintbench import InpaintbenchError
from inpaintbench.runner.model.sealed import seal

from . import torch7_files as t7
from .test_model import context

CPU = torch.device("cpu")


def written(tmp_path, net: t7.Module, name: str = "paris_inpaintCenter.t7"):
    path = tmp_path / name
    path.write_bytes(t7.dumps(net))
    return path


def images(n: int = 2) -> np.ndarray:
    """Context images in [-1, 1] with the inner 56 x 56 mean-filled, as test.lua feeds the network."""
    x = np.random.default_rng(3).uniform(-1, 1, (n, 3, 128, 128))
    x[:, :, 36:92, 36:92] = (2 * np.array([117, 104, 123]) / 255 - 1)[:, None, None]
    return x


def assert_matches_numpy(path, net: t7.Module, x: np.ndarray) -> None:
    gen = load_generator(open_checkpoint(path), CPU)
    with torch.no_grad():
        out = gen(torch.from_numpy(x).float()).double().numpy()
    expected = t7.forward(net, x)
    assert out.shape == expected.shape == (len(x), 3, 64, 64)
    assert np.mean(np.abs(expected) < 0.9) > 0.9  # not saturated by the Tanh: the comparison means something
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-4)


@pytest.mark.parametrize(("style", "eps"), [("var", 1e-5), ("std", 1e-5), ("var", 1e-3), ("std", 1e-3)])
def test_a_netg_file_computes_what_numpy_computes(tmp_path, style, eps) -> None:
    """Both batch-norm conventions (running_var; fbnn's running_std = 1 / sqrt(var + eps)), the
    file's eps, biases on every convolution, both weight layouts."""
    net = t7.netg(seed=0, bottleneck=64, style=style, eps=eps)
    path = written(tmp_path, net)
    assert_matches_numpy(path, net, images())
    cfg = open_checkpoint(path).config
    assert (cfg.mode, cfg.bottleneck, cfg.overlap) == ("center", 64, 4)


@pytest.mark.slow
def test_the_released_4000_unit_layer_list(tmp_path) -> None:
    """The released netG's exact layer list, 4000-unit code included (its weights repeat along one
    axis, so the file stays small)."""
    net = t7.netg(seed=1, bottleneck=4000, style="std", repeated_code=True)
    path = written(tmp_path, net)
    assert path.stat().st_size < 30 * 2**20
    ckpt = open_checkpoint(path)
    assert (ckpt.config.mode, ckpt.config.bottleneck, ckpt.config.overlap) == ("center", 4000, 4)
    assert_matches_numpy(path, net, images(1))


def test_the_reader_agrees_with_torchfile(tmp_path) -> None:
    """The writer against an independent reader (torchfile, when installed), and this plugin's reader
    against both: same classes in the same order, equal tensors."""
    torchfile = pytest.importorskip("torchfile")
    net = t7.netg(seed=2, bottleneck=8)
    path = written(tmp_path, net)
    theirs, ours = torchfile.load(str(path)), loads(path.read_bytes())

    def leaves(module, by_torchfile: bool) -> list:
        name = module.torch_typename().decode() if by_torchfile else module.typename
        if name != "nn.Sequential":
            return [module]
        children = module["modules"] if by_torchfile else module.fields["modules"].values()
        return [leaf for m in children for leaf in leaves(m, by_torchfile)]

    pairs = list(zip(leaves(theirs, True), leaves(ours, False), t7.flat(net), strict=True))
    assert len(pairs) == 31
    for their, our, source in pairs:
        assert their.torch_typename().decode() == our.typename == source.typename
        for key, value in source.fields.items():
            if isinstance(value, np.ndarray) and value.size:
                assert np.array_equal(their[key.encode()], value) and np.array_equal(our.fields[key], value)
            elif not isinstance(value, np.ndarray):
                assert our.fields[key] == value


def _without_tanh(net: t7.Module) -> t7.Module:
    net.fields["modules"].pop()
    return net


def _noise_gen(net: t7.Module) -> t7.Module:
    """train.lua with noiseGen: netE and a noise branch in a ParallelTable, then a JoinTable."""
    net.fields["modules"][0] = t7.Module("nn.ParallelTable", {"modules": [net.fields["modules"][0]]})
    return net


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (
            lambda: t7.netg(0, 16, random_region=True),  # train_random.lua: one more 64 -> 64 up-stage
            "module 30 is nn.SpatialFullConvolution(64 -> 64, 4x4, stride 2x2, pad 1x1), "
            "expected nn.SpatialFullConvolution(64 -> 3, 4x4, stride 2x2, pad 1x1)",
        ),
        (
            lambda: _noise_gen(t7.netg(0, 16)),
            "module 1 is nn.ParallelTable, expected nn.SpatialConvolution(3 -> 64",
        ),
        (
            lambda: _without_tanh(t7.netg(0, 16)),
            "it ends after module 30, expected 31 modules ending in nn.Tanh",
        ),
        (lambda: {"modules": []}, "holds a dict, not the nn.Sequential of a Context Encoder"),
    ],
    ids=["random-region netG", "noiseGen netG", "no Tanh", "a table"],
)
def test_another_architecture_is_one_line_naming_the_file_and_module(tmp_path, make, expected) -> None:
    path = written(tmp_path, make(), "other.t7")
    with pytest.raises(InpaintbenchError) as info:
        open_checkpoint(path)
    message = str(info.value)
    assert expected in message and str(path) in message and "\n" not in message


def _past_storage() -> bytes:
    writer = t7.Writer()
    writer.torch_header("torch.FloatTensor")
    writer.pack("<i3q", 1, 10, 1, 1)  # 10 elements
    writer.obj(np.zeros(5, np.float32))  # over a tensor whose storage holds 5
    return writer.out.getvalue()


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: b"not a torch file", "unknown type tag"),
        (lambda: t7.dumps(t7.netg(0, 16))[:-1000], "ends early"),
        (_past_storage, "reaching past its 5-element storage"),
        (lambda: t7.dumps({"f": 1})[:-12] + np.array([6, 9, 0], "<i4").tobytes(), "holds a Lua function"),
    ],
    ids=["garbage", "cut short", "tensor past its storage", "lua function"],
)
def test_a_damaged_file_is_refused_without_reading_past_it(tmp_path, make, expected) -> None:
    data = make()
    with pytest.raises(Torch7Error, match=expected):
        loads(data)
    path = tmp_path / "bad.t7"
    path.write_bytes(data)
    with pytest.raises(InpaintbenchError, match="is not a readable Torch7 file"):
        open_checkpoint(path)


def test_run_loads_the_t7_and_records_where_the_weights_came_from(tmp_path) -> None:
    path = written(tmp_path, t7.netg(seed=0, bottleneck=16, style="std"))
    model = ContextEncoder()
    model.prepare(context(tmp_path / "cache", ["center"], {"checkpoint": str(path), "tta": "1"}, []))
    assert not (tmp_path / "cache").exists()  # nothing trained
    assert model.source("center") == str(path)
    info = model.provenance()["networks"]["center"]
    assert info["checkpoint"] == str(path) and info["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert info["origin"]["file"] == str(path.resolve()) and info["origin"]["sha256"] == info["sha256"]
    assert info["origin"]["batch_norm"] == "running_std" and info["origin"]["biases"] is True
    assert (info["config"]["mode"], info["config"]["bottleneck"], info["config"]["overlap"]) == (
        "center",
        16,
        4,
    )
    masks = torch.zeros(2, 1, 128, 128)
    masks[..., 32:96, 32:96] = 1
    batch = torch.rand(2, 3, 128, 128)
    out = model.inpaint(seal(batch, masks, ["a", "b"], "center"))
    assert out.shape == batch.shape and out.min() >= 0 and out.max() <= 1
    with pytest.raises(InpaintbenchError, match="no random network"):
        ContextEncoder().prepare(context(tmp_path, ["random"], {"checkpoint": str(path)}, []))
