"""The plugin kit (``inpaintbench.testing``): built-ins pass it; broken components fail it by clause."""

from __future__ import annotations

import importlib
import types

import numpy as np
import pytest
import torch

from inpaintbench import Batch, Dataset, MaskGenerator, Metric, Model, Sample, get_registry, hookimpl
from inpaintbench.metrics.perceptual import LPIPS, build_network
from inpaintbench.runner.plan.references import REFERENCE_MODELS
from inpaintbench.testing import (
    ContractError,
    check_dataset,
    check_mask,
    check_metric,
    check_model,
    check_registration,
    prepare_context,
)

MASKS = [
    "center", "random", "block", "freeform", "lama-thin", "lama-medium", "lama-thick", "ratio:0.1-0.2",
    "lines", "completion", "expand", "nn", "lines:3", "lama-thick:256",
]  # fmt: skip
NEEDS_CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def violated(error: pytest.ExceptionInfo[ContractError]) -> set[str]:
    return error.value.clauses


# -- the built-ins pass -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["mean_fill", "biharmonic"])
def test_builtin_models_pass(name):
    model = get_registry().get("model", name)
    model.prepare(prepare_context())
    check_model(model)


@pytest.mark.parametrize("spec", MASKS)
def test_builtin_masks_pass(spec):
    check_mask(get_registry().get("mask", spec))


@pytest.mark.parametrize("name", ["psnr", "psnr_hole", "l1_hole", "l2_hole", "ssim"])
def test_builtin_metrics_pass(name):
    check_metric(get_registry().get("metric", name))


class RandomTrunkLPIPS(LPIPS):
    """LPIPS with lpips' calibrated linear layers but a random trunk: no ImageNet weights are on this
    machine, so this checks the plumbing (shape, direction, purity), not the calibrated values."""

    def setup(self, device: torch.device) -> None:
        self.network = build_network(self.net, None).to(device)


def test_lpips_plumbing_passes_with_a_random_trunk():
    check_metric(RandomTrunkLPIPS(), image_size=64)


def test_samples_dataset_passes():
    check_dataset(get_registry().get("dataset", "samples"), splits=("test", "train"))


@pytest.mark.parametrize("module", ["models", "masks", "metrics", "datasets"])
def test_builtin_registration_passes(module):
    registry, kind = get_registry(), module.removesuffix("s")
    registered = check_registration(importlib.import_module(f"inpaintbench.{module}"))
    assert set(registered) == {kind}
    assert set(registered[kind]) == {
        n for n in registry.names(kind) if registry.plugin_of(kind, n) == f"inpaintbench.{module}"
    }


@pytest.mark.cuda
@NEEDS_CUDA
def test_builtins_pass_on_cuda():
    model = get_registry().get("model", "mean_fill")
    check_model(model, device="cuda", atol=1e-6)
    check_metric(get_registry().get("metric", "ssim"), device="cuda")


def test_prepare_context_is_valid_and_takes_overrides(tmp_path):
    ctx = prepare_context(cache_dir=tmp_path, image_size=128, device="cpu", options={"steps": "2"})
    assert ctx.cache_dir == tmp_path and ctx.image_size == 128 and ctx.device == torch.device("cpu")
    assert ctx.regimes == ["center", "random"] and ctx.options == {"steps": "2"} and not ctx.progress
    first = next(iter(ctx.train_dataset.samples("train", 32)))
    assert first.image.shape == (32, 32, 3)
    assert prepare_context().cache_dir.is_dir()


# -- broken models ----------------------------------------------------------------------------------


class Broken(Model):
    name = "broken"
    description = "deliberately breaks the contract"


class WrongShape(Broken):
    def inpaint(self, batch: Batch) -> torch.Tensor:
        return batch.images[:, :1]


class OutOfRange(Broken):
    def inpaint(self, batch: Batch) -> torch.Tensor:
        return batch.images * 2 + 0.5


class WrongShapeAndRange(Broken):
    def inpaint(self, batch: Batch) -> torch.Tensor:
        return torch.full((1, 3, 8, 8), 2.0)


class Noisy(Broken):
    def inpaint(self, batch: Batch) -> torch.Tensor:
        return torch.rand_like(batch.images)


class BatchMean(Broken):
    """Fills holes with the mean of the whole batch's known pixels: each image depends on the others."""

    def inpaint(self, batch: Batch) -> torch.Tensor:
        known = 1 - batch.masks
        mean = (batch.images * known).sum() / (known.sum() * 3)
        return torch.where(batch.masks.bool(), mean, batch.images)


class Raises(Broken):
    def inpaint(self, batch: Batch) -> torch.Tensor:
        raise RuntimeError("no weights")


class OnCPU(Broken):
    def inpaint(self, batch: Batch) -> torch.Tensor:
        return batch.images.cpu()


@pytest.mark.parametrize(
    ("model", "clauses", "words"),
    [
        (WrongShape(), {"output shape"}, "returned shape (3, 1, 64, 64), expected (3, 3, 64, 64)"),
        (OutOfRange(), {"output range"}, "outside [0, 1]"),
        (WrongShapeAndRange(), {"output shape", "output range"}, "expected (3, 3, 64, 64)"),
        (Noisy(), {"deterministic"}, "two calls on equal batches differ"),
        (BatchMean(), {"batch independence"}, "inpainted alone differs from inside a batch of 3"),
        (Raises(), {"inpaint runs"}, "raised RuntimeError: no weights"),
    ],
)
def test_broken_models_fail_naming_the_clause(model, clauses, words):
    with pytest.raises(ContractError) as error:
        check_model(model)
    assert violated(error) == clauses
    message = str(error.value)
    assert message.startswith("model 'broken' (test_testing_kit.") and words in message
    assert "[center]" in message and "[random]" in message


class FillsItsBatch(Model):
    name = "fills_its_batch"
    description = "writes grey into its own batch's holes and returns that batch's images"

    def inpaint(self, batch: Batch) -> torch.Tensor:
        return batch.images.masked_fill_(batch.masks.bool().expand_as(batch.images), 0.5)


def test_a_model_may_edit_its_own_batch():
    check_model(FillsItsBatch())


@pytest.mark.cuda
@NEEDS_CUDA
def test_output_on_another_device_is_moved_as_the_runner_moves_it():
    """One contract: the runner accepts an output on any device and moves it, so the kit does too."""
    check_model(OnCPU(), device="cuda")


# -- broken masks -----------------------------------------------------------------------------------


class GlobalRandom(MaskGenerator):
    name = "global_random"
    description = "uses np.random instead of its rng"

    def generate(self, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
        return np.random.random((height, width)) < 0.3


class Stateful(MaskGenerator):
    name = "stateful"
    description = "shifts its hole on every call"

    def __init__(self, arg: str | None = None) -> None:
        super().__init__(arg)
        self.calls = 0

    def generate(self, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
        self.calls += 1
        mask = np.zeros((height, width), dtype=bool)
        mask[self.calls % height] = True
        return mask


class Soft(MaskGenerator):
    name = "soft"
    description = "returns grey levels"

    def generate(self, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
        return rng.random((height, width))


class Overfull(MaskGenerator):
    name = "overfull"
    description = "declares 10-20% and draws half"
    hole_ratio = (0.1, 0.2)

    def generate(self, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
        mask = np.zeros((height, width), dtype=bool)
        mask[: height // 2] = True
        return mask


class Transposed(MaskGenerator):
    name = "transposed"
    description = "swaps height and width"

    def generate(self, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
        return np.zeros((width, height), dtype=bool)


@pytest.mark.parametrize(
    ("generator", "clause", "words"),
    [
        (GlobalRandom(), "reproducible", "not np.random, random or its own state"),
        (Stateful(), "reproducible", "redrawn from the same seed differs"),
        (Soft(), "binary", "masks must be binary"),
        (Overfull(), "hole ratio", "has hole ratio 0.5000, outside the declared (0.1, 0.2) (32 of 32 masks)"),
        (Transposed(), "shape", "drew shape (128, 96), expected (96, 128)"),
    ],
)
def test_broken_masks_fail_naming_the_clause(generator, clause, words):
    with pytest.raises(ContractError) as error:
        check_mask(generator)
    assert violated(error) == {clause}
    assert str(error.value).startswith(f"mask '{generator.name}' (") and words in str(error.value)


# -- broken metrics ---------------------------------------------------------------------------------


class MAE(Metric):
    name = "mae"
    description = "mean absolute error"
    higher_is_better = False

    def compute(self, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return (pred - target).abs().flatten(1).mean(1)


class Column(MAE):
    def compute(self, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return super().compute(pred, target, mask)[:, None]


class Backwards(MAE):
    higher_is_better = True


class Undeclared(Metric):
    name = "undeclared"
    description = "forgets higher_is_better"
    compute = MAE.compute


class EditsInput(MAE):
    def compute(self, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return pred.sub_(target).abs_().flatten(1).mean(1)


class BatchNormalised(MAE):
    def compute(self, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        error = super().compute(pred, target, mask)
        return error / error.sum().clamp_min(1e-12)


@pytest.mark.parametrize(
    ("metric", "clauses", "words"),
    [
        (Column(), {"scores"}, "returned shape (4, 1), expected (4,): one value per image"),
        (Backwards(), {"direction"}, "for 4 of 4 images (image 0: 0 against"),
        (Undeclared(), {"declaration"}, "must declare higher_is_better = True or False"),
        (EditsInput(), {"inputs unchanged", "scores"}, "compute edited its input pred in place"),
        (BatchNormalised(), {"per-image"}, "scored one by one the images get [1, 1, 1, 1]"),
    ],
)
def test_broken_metrics_fail_naming_the_clause(metric, clauses, words):
    with pytest.raises(ContractError) as error:
        check_metric(metric)
    assert violated(error) == clauses
    assert str(error.value).startswith(f"metric '{metric.name}' (") and words in str(error.value)


# -- broken datasets --------------------------------------------------------------------------------


class Tiles(Dataset):
    name = "tiles"
    description = "grey tiles"
    ids = ("a", "b", "c")
    shape: tuple[int, ...] | None = None

    def samples(self, split: str, image_size: int):
        for image_id in self.ids:
            yield Sample(image_id, np.full(self.shape or (image_size, image_size, 3), 0.5, np.float32))


class Duplicates(Tiles):
    ids = ("a", "b", "a")


class WrongSize(Tiles):
    shape = (16, 16, 3)


class Empty(Tiles):
    ids = ()


def test_a_good_dataset_passes():
    check_dataset(Tiles(), splits=("test", "train"))


@pytest.mark.parametrize(
    ("dataset", "clause", "words"),
    [
        (Duplicates(), "ids", "[test] 'a': yielded twice"),
        (WrongSize(), "images", "image has shape (16, 16, 3), expected (32, 32, 3)"),
        (Empty(), "not empty", "[test] yielded no sample"),
    ],
)
def test_broken_datasets_fail_naming_the_clause(dataset, clause, words):
    with pytest.raises(ContractError) as error:
        check_dataset(dataset)
    assert violated(error) == {clause}
    assert words in str(error.value)


def test_bad_skipped_entries_fail():
    dataset = Tiles()
    dataset.skipped.append({"path": "x.png"})
    with pytest.raises(ContractError, match="needs 'path' and 'reason'"):
        check_dataset(dataset)


# -- registration -----------------------------------------------------------------------------------


def plugin(**hooks) -> types.ModuleType:
    module = types.ModuleType("kit_plugin")
    for name, registers in hooks.items():
        setattr(
            module, name, hookimpl(lambda register, registers=registers: [register(c) for c in registers])
        )
    return module


def test_a_good_plugin_reports_what_it_registers():
    assert check_registration(plugin(register_masks=[Soft, Overfull], register_metrics=[MAE])) == {
        "mask": ["soft", "overfull"],
        "metric": ["mae"],
    }


def test_registration_names_every_problem():
    clash = type("Clash", (Broken,), {"name": "mean_fill"})
    twice = type("Twice", (MAE,), {})
    bare = type("Bare", (MAE,), {"name": "bare", "description": ""})
    with pytest.raises(ContractError) as error:
        check_registration(plugin(register_models=[clash], register_metrics=[Undeclared, MAE, twice, bare]))
    message = str(error.value)
    assert violated(error) == {"contract", "unique name", "description"}
    assert "metric 'undeclared' must declare higher_is_better" in message
    assert "model 'mean_fill' is the name of a built-in" in message
    assert "metric 'mae' is registered twice" in message
    assert "metric 'bare' has no description" in message


def test_a_misspelt_hook_or_an_empty_plugin_fails():
    with pytest.raises(ContractError, match="register_model"):
        check_registration(plugin(register_model=[MAE]))
    with pytest.raises(ContractError, match="register nothing"):
        check_registration(types.ModuleType("empty"))


# -- the in-process command line ----------------------------------------------------------------------


class GreyFill(Model):
    """Fills every hole with mid-grey: a model only this test's plugin object registers."""

    name = "kit_grey"
    description = "mid-grey in every hole"

    def inpaint(self, batch: Batch) -> torch.Tensor:
        return torch.full_like(batch.images, 0.5)


class GreyPlugin:
    @hookimpl
    def register_models(self, register):
        register(GreyFill)


def test_run_rows_runs_a_plugin_object_in_process(tmp_path):
    from inpaintbench.testing import invoke, run_rows

    args = ["--model", "kit_grey", "--masks", "center", "--metrics", "psnr", "--limit", "2"]
    rows = run_rows([*args, "--image-size", "64"], tmp_path / "run", plugins=[GreyPlugin()])
    assert {row["model"] for row in rows} == {"kit_grey", *REFERENCE_MODELS}  # and the reference baselines
    assert len(rows) == 2 * (1 + len(REFERENCE_MODELS)) and all(float(row["psnr"]) > 0 for row in rows)
    # the plugin was registered for that command alone: the next one does not know the model
    again = invoke(["run", *args, "--out", str(tmp_path / "again")], plugins=[])
    assert again.returncode == 2 and "kit_grey" in again.stderr and again.stderr.count("\n") == 1
    assert not (tmp_path / "again").exists()
    assert get_registry().get("model", "mean_fill") is not None


def test_invoke_puts_the_environment_and_folder_back(tmp_path, monkeypatch):
    import os

    from inpaintbench.testing import invoke

    monkeypatch.setenv("INPAINTBENCH_KIT_PROBE", "before")
    here = os.getcwd()
    result = invoke(["list", "models"], cwd=tmp_path, env={"INPAINTBENCH_KIT_PROBE": None})
    assert result.returncode == 0 and "mean_fill" in result.stdout
    assert os.getcwd() == here and os.environ["INPAINTBENCH_KIT_PROBE"] == "before"
    assert invoke(["run", "--no-such-flag"]).returncode == 2  # argparse's exit becomes the status
