"""Released model files in-process: ``torchscript:``, ``exported:``, ``onnx:`` and ``diffusers:``.

The files are stand-ins built here with random weights (``inpaintbench.testing.released``): a small
network of LaMa's signature saved in the three formats, and a tiny Stable Diffusion inpainting pipeline
made from configs. Their numbers mean nothing as inpainting; what is tested is that each adapter hands
the model what its convention says, gives back exactly what calling the model directly gives, keeps
the batch sealed, and turns every kind of bad file into one line and exit status 2 before any work.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from inpaintbench import InpaintbenchError
from inpaintbench.cli import main
from inpaintbench.models.conventions import OPTIONS, Convention
from inpaintbench.models.files import OnnxModel, sniff
from inpaintbench.plugins import build_registry
from inpaintbench.seeding import stable_seed
from inpaintbench.testing import check_model, prepare_context
from inpaintbench.testing.inputs import sealed_batch
from inpaintbench.testing.released import (
    LamaLike,
    save_diffusers_pipeline,
    save_exported,
    save_onnx,
    save_torchscript,
)

REGISTRY = build_registry()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("files")
    torch.manual_seed(0)
    model = LamaLike().eval()
    paths = {
        "torchscript": save_torchscript(root / "lama.pt", model),
        "exported": save_exported(root / "lama.pt2", model),
        "onnx": save_onnx(root / "lama.onnx", model),
        "static": save_exported(root / "static.pt2", model, dynamic=False),
    }
    torch.save(model.state_dict(), root / "weights.pth")
    paths["state"] = root / "weights.pth"
    return model, paths


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    return save_diffusers_pipeline(tmp_path_factory.mktemp("sd") / "pipe")


def loaded(spec: str, image_size: int = 64):
    model = REGISTRY.get("model", spec)
    model.prepare(prepare_context(image_size=image_size))
    return model


def symmetric_pad(t: torch.Tensor, mod: int) -> torch.Tensor:
    """numpy's own symmetric padding at the bottom and right, the reference for the adapter's."""
    h, w = t.shape[-2:]
    extra = ((0, 0), (0, 0), (0, -h % mod), (0, -w % mod))
    return torch.from_numpy(np.pad(t.numpy(), extra, mode="symmetric"))


# -- the adapters give what the model gives -------------------------------------------------------------
@pytest.mark.parametrize("kind", ["torchscript", "exported", "onnx"])
@pytest.mark.parametrize("image_size", [64, 60])
def test_each_adapter_returns_what_calling_the_model_directly_returns(files, kind, image_size):
    """At 60 px the sides are padded to 64 (numpy's symmetric) and the output cropped back."""
    model, paths = files
    batch = sealed_batch(image_size)
    got = loaded(f"{kind}:{paths[kind]}", image_size).inpaint(batch)
    with torch.no_grad():
        direct = model(symmetric_pad(batch.images, 8), symmetric_pad(batch.masks, 8))
    direct = direct[..., :image_size, :image_size]
    torch.testing.assert_close(got, direct, atol=1e-5 if kind == "onnx" else 1e-6, rtol=0)


@pytest.mark.parametrize("kind", ["torchscript", "exported", "onnx"])
def test_each_adapter_keeps_the_model_contract(files, kind):
    """The kit's checks: sealed batch, hidden pixels ignored, deterministic, batch-independent."""
    check_model(loaded(f"{kind}:{files[1][kind]}"), batch_atol=1e-5)


def test_batch_option_splits_the_call_without_changing_the_result(files):
    batch = sealed_batch(64, 5)
    whole = loaded(f"torchscript:{files[1]['torchscript']}").inpaint(batch)
    split = loaded(f"torchscript:{files[1]['torchscript']}?batch=2").inpaint(batch)
    torch.testing.assert_close(split, whole, atol=1e-5, rtol=0)


@pytest.mark.parametrize("kind", ["torchscript", "exported"])
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_lower_precision_runs_and_stays_close(files, kind, precision):
    batch = sealed_batch(64)
    full = loaded(f"{kind}:{files[1][kind]}").inpaint(batch)
    low = loaded(f"{kind}:{files[1][kind]}?precision={precision}&memory=channels_last")
    out = low.inpaint(batch)
    assert out.dtype == torch.float32
    assert (out - full).abs().max() < 0.05
    assert low.provenance()["convention"]["precision"] == precision


# -- conventions: what the model receives ---------------------------------------------------------------
class EchoRgb(nn.Module):
    """Returns the RGB channels of a cat:mask,image input, so a test sees what the adapter passed."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, 1:4]


class EchoMask(nn.Module):
    """Returns channel 0 of a cat:mask,image input, doubled, as the picture."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (2 * x[:, :1]).expand(-1, 3, -1, -1)


class EchoPair(nn.Module):
    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return image[:, :1].expand(-1, 3, -1, -1)  # its first channel, everywhere


def scripted(tmp_path, module: nn.Module, name: str):
    return save_torchscript(tmp_path / name, module)


def test_migan_preset_hands_the_mask_and_the_blanked_image_as_migan_takes_them(tmp_path):
    """MI-GAN: one tensor cat([0.5 - hole, image * (1 - hole)]) with the image in [-1, 1], padded to 512."""
    batch = sealed_batch(64, 2)
    hole = batch.masks.expand(-1, 3, -1, -1).bool()
    rgb = loaded(f"torchscript:{scripted(tmp_path, EchoRgb(), 'rgb.pt')}?preset=migan").inpaint(batch)
    # holes hold 0 in [-1, 1]: 0.5 once mapped back; known pixels come back as they went in
    torch.testing.assert_close(rgb, torch.where(hole, 0.5, batch.images), atol=1e-6, rtol=0)
    mask = loaded(f"torchscript:{scripted(tmp_path, EchoMask(), 'm.pt')}?preset=migan").inpaint(batch)
    # 0.5 - hole, doubled: 1 known, -1 hole, which out_range -1,1 maps to 1 and 0
    torch.testing.assert_close(mask, 1 - batch.masks.expand(-1, 3, -1, -1), atol=1e-6, rtol=0)


def test_range_order_and_polarity_options(tmp_path):
    batch = sealed_batch(64, 2)
    path = scripted(tmp_path, EchoPair(), "pair.pt")
    red = batch.images[:, :1].expand(-1, 3, -1, -1)
    blue = batch.images[:, 2:3].expand(-1, 3, -1, -1)
    same = loaded(f"torchscript:{path}?range=0,255").inpaint(batch)
    torch.testing.assert_close(same, red, atol=1e-5, rtol=0)
    torch.testing.assert_close(loaded(f"torchscript:{path}?order=bgr").inpaint(batch), blue)
    # the hole's value in the model's range: 0.25 in [0, 1]
    filled = loaded(f"torchscript:{path}?hole=0.25").inpaint(batch)
    torch.testing.assert_close(filled[:, 0], torch.where(batch.masks[:, 0] > 0.5, 0.25, batch.images[:, 0]))


def test_size_option_resizes_in_and_out(files):
    model = loaded(f"torchscript:{files[1]['torchscript']}?size=96")
    out = model.inpaint(sealed_batch(64))
    assert out.shape == (3, 3, 64, 64)
    assert model.convention.padded_size(64, 64) == (96, 96)


def test_every_option_is_a_field_of_the_convention():
    assert set(OPTIONS) == {f for f in Convention.__dataclass_fields__}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?range=1,0", "range='1,0' is not LO,HI"),
        ("?range=a", "range='a' is not LO,HI"),
        ("?mod=0", "mod='0' is not an integer"),
        ("?call=image", "call='image' is not one of"),
        ("?ranges=0,1", "unknown option 'ranges'"),
        ("?preset=mat", "preset 'mat' is not one of"),
        ("?mod=8&mod=16", "option 'mod' is given twice"),
        ("?mod", "'mod' is not KEY=VALUE"),
        ("?hole=nan", "hole='nan' is not a finite number"),
    ],
)
def test_bad_options_are_one_line_naming_the_option(files, query, message):
    with pytest.raises(InpaintbenchError, match=message):
        REGISTRY.get("model", f"torchscript:{files[1]['torchscript']}{query}")


def test_onnx_refuses_torch_only_options_and_a_missing_provider(files):
    with pytest.raises(InpaintbenchError, match="fixes its own input dtype"):
        REGISTRY.get("model", f"onnx:{files[1]['onnx']}?precision=bf16")
    with pytest.raises(
        InpaintbenchError, match="no CUDAExecutionProvider for --device cuda.*onnxruntime-gpu"
    ):
        OnnxModel._providers(torch.device("cuda"), ["CPUExecutionProvider"])
    assert OnnxModel._providers(torch.device("cuda"), ["CUDAExecutionProvider", "CPUExecutionProvider"])[
        0
    ] == ("CUDAExecutionProvider")


def test_formats_are_told_from_the_bytes(files):
    paths = files[1]
    assert [sniff(paths[k]) for k in ("torchscript", "exported", "onnx", "state")] == [
        "torchscript",
        "torch.export",
        "onnx",
        "state dict",
    ]


def test_a_comma_in_a_spec_option_stays_in_the_spec():
    text = "torchscript:a.pt?range=-1,1&mod=16,mean_fill,onnx:b.onnx?out_range=0,255"
    assert REGISTRY.split("model", text) == [
        "torchscript:a.pt?range=-1,1&mod=16",
        "mean_fill",
        "onnx:b.onnx?out_range=0,255",
    ]
    assert REGISTRY.split("model", "mean_fill, biharmonic") == ["mean_fill", "biharmonic"]
    assert REGISTRY.split("model", "torchscript:a.pt?mod=16,,mean_fill,") == [
        "torchscript:a.pt?mod=16",
        "mean_fill",
    ]


# -- bad files: one line, exit 2, nothing written -------------------------------------------------------
class Shrinks(nn.Module):
    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return image[..., ::2, ::2]


class Tanh(nn.Module):
    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return torch.tanh(4 * image - 2)


class TakesOne(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :3]


SHAPE = r"returned shape \(2, 3, 64, 64\), expected \(2, 3, 128, 128\)"
RANGE = r"not \[0, 1\]; is its output in \[-1, 1\]\? \(out_range=-1,1\)"
BAD = {
    "missing": (lambda p, tmp: f"torchscript:{tmp / 'absent.pt'}", "is not a file"),
    "state dict": (lambda p, tmp: f"torchscript:{p['state']}", "is a state dict file.*model's code"),
    "wrong format": (lambda p, tmp: f"exported:{p['torchscript']}", "run it as torchscript:PATH"),
    "not a model": (
        lambda p, tmp: f"onnx:{tmp / 'notes.onnx'}",
        "is of no model format known here, not onnx",
    ),
    "static shapes": (
        lambda p, tmp: f"exported:{p['static']}",
        r"inputs \(2, 3, 64, 64\).*gives \(2, 3, 128",
    ),
    "shape": (lambda p, tmp: f"torchscript:{scripted(tmp, Shrinks(), 's.pt')}", SHAPE),
    "range": (lambda p, tmp: f"torchscript:{scripted(tmp, Tanh(), 't.pt')}", RANGE),
    "signature": (lambda p, tmp: f"torchscript:{scripted(tmp, TakesOne(), '1.pt')}", "probe batch .* failed"),
    "onnx inputs": (lambda p, tmp: f"onnx:{p['onnx']}?call=cat:image,mask", r"takes 2 input\(s\).*gives 1"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_model_file_is_one_line_and_exit_2_before_any_work(files, tmp_path, capsys, case):
    (tmp_path / "notes.onnx").write_text("not a model\n")
    spec, message = BAD[case]
    out = tmp_path / "run"
    status = main(["run", "--model", spec(files[1], tmp_path), "--masks", "center", "--limit", "2",
                   "--metrics", "psnr", "--out", str(out), "--no-progress"])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2, err
    assert len(err) == 1 and err[0].startswith("error:"), err
    assert re.search(message, err[0]), err[0]
    assert not out.exists()


# -- a whole run: LaMa as released, with a stand-in of its signature -----------------------------------
def test_the_main_command_runs_a_lama_file_beside_a_baseline(files, places, tmp_path, capsys):
    """The issue's command: torchscript:big-lama.pt,mean_fill on lama-thick over places365."""
    path = files[1]["torchscript"]
    out = tmp_path / "run"
    status = main(["run", "--model", f"torchscript:{path},mean_fill", "--masks", "lama-thick:256,center",
                   "--dataset", f"places365:{places}", "--image-size", "256", "--metrics", "psnr,ssim",
                   "--batch-size", "3", "--out", str(out), "--no-progress"])  # fmt: skip
    assert status == 0, capsys.readouterr().err
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    entry = json.loads((out / "run.json").read_text())["models"][f"torchscript:{path}"]
    provenance = entry["provenance"]
    assert (provenance["format"], provenance["sha256"], provenance["bytes"]) == (
        "torchscript",
        digest,
        path.stat().st_size,
    )
    assert provenance["convention"]["mod"] == 8 and provenance["device"] == "cpu"
    rows = pd.read_csv(out / "results.csv")
    mine = rows[rows.model == f"torchscript:{path}"]
    assert len(mine) == 12 and mine.psnr.notna().all()  # 6 photos, 2 regimes
    assert (mine.checkpoint == f"{path} sha256:{digest}").all()
    assert digest[:12] in (out / "index.html").read_text()


# -- diffusers ----------------------------------------------------------------------------------------
def test_diffusers_output_is_the_pipeline_called_directly_with_each_images_seed(pipeline):
    from diffusers import DiffusionPipeline

    model = REGISTRY.get("model", f"diffusers:{pipeline}?steps=2&guidance=3&prompt=a%20cat")
    ctx = prepare_context(image_size=64, seed=5)
    model.prepare(ctx)
    batch = sealed_batch(64, 2)
    got = model.inpaint(batch)
    pipe = DiffusionPipeline.from_pretrained(pipeline, local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    small = F.interpolate(batch.images, size=(32, 32), mode="bilinear", antialias=True)
    holes = (F.interpolate(batch.masks, size=(32, 32), mode="nearest") > 0.5).float()
    generators = [
        torch.Generator().manual_seed(stable_seed(5, 0, batch.regime, i) % 2**63) for i in batch.image_ids
    ]
    direct = pipe(
        prompt=["a cat"] * 2, image=small, mask_image=holes, height=32, width=32, num_inference_steps=2,
        guidance_scale=3.0, generator=generators, output_type="pt",
    ).images  # fmt: skip
    direct = F.interpolate(direct, size=(64, 64), mode="bilinear", antialias=True).clamp(0, 1)
    torch.testing.assert_close(got, direct, atol=1e-5, rtol=0)
    assert model.provenance()["resolution"] == 32 and model.provenance()["resized_from"] == 64


def test_diffusers_keeps_the_model_contract_and_seeds_per_image(pipeline):
    model = REGISTRY.get("model", f"diffusers:{pipeline}?steps=2")
    model.prepare(prepare_context(image_size=64))
    check_model(model, batch_atol=1e-4)
    batch = sealed_batch(64, 2)
    first = model.inpaint(batch)
    model.prepare(prepare_context(image_size=64, seed=1))
    assert (model.inpaint(batch) - first).abs().max() > 1e-3  # another run seed, other noise


def test_diffusers_folder_problems_are_one_line(tmp_path, pipeline):
    with pytest.raises(InpaintbenchError, match="no diffusers pipeline folder"):
        REGISTRY.get("model", f"diffusers:{tmp_path}")
    with pytest.raises(InpaintbenchError, match="strength=2.0 is not in"):
        REGISTRY.get("model", f"diffusers:{pipeline}?strength=2")
    with pytest.raises(InpaintbenchError, match="unknown option 'step'"):
        REGISTRY.get("model", f"diffusers:{pipeline}?step=2")


def test_the_docs_example_runs(tmp_path, monkeypatch):
    """docs/models.md's offline try-out, run as written."""
    text = (Path(__file__).parents[1] / "docs" / "models.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "docs/models.md", "exec"), {})
    assert (tmp_path / "lama-like.pt").is_file()
