"""The sealed benchmark, tried with real installed plugins that cheat (``plugin_site/ib_cheat``).

Every cheating model must score exactly what the honest constant fill scores; every broken metric
or mask must be named as the component at fault, with the other components' results kept.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import cli_in_process
from PIL import Image

from inpaintbench import HOLE_VALUE, Batch
from inpaintbench.plugins import build_registry
from inpaintbench.runner.model.sealed import inpaint_sealed, seal

METRICS = ["psnr", "ssim", "l1_hole", "psnr_hole"]
CHEATS = ["cheat_identity", "cheat_inplace", "cheat_peek", "cheat_memorise"]


def run(out, *args: str, plugins: str = "cheat"):
    return cli_in_process("run", "--out", str(out), "--no-progress", *args, plugins=plugins)


@pytest.fixture(scope="module")
def cheats_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cheats")
    models = ",".join(["cheat_constant", *CHEATS])
    result = run(
        out, "--model", models, "--masks", "center,random", "--metrics", ",".join(METRICS), "--limit", "8"
    )
    return out, result


@pytest.mark.slow
def test_every_cheat_scores_exactly_the_constant_fill(cheats_run):
    out, result = cheats_run
    assert result.returncode == 0, result.stderr
    results = pd.read_csv(out / "results.csv").set_index(["mask", "image"])
    honest = results[results["model"] == "cheat_constant"][METRICS]
    assert len(honest) == 16 and honest["psnr"].max() < 30  # a hole of zeros is far from the photos
    for model in CHEATS:
        scores = results[results["model"] == model][METRICS]
        pd.testing.assert_frame_equal(scores, honest, check_exact=True, obj=model)


def test_predictions_of_cheats_hold_the_constant_in_the_hole(cheats_run):
    out, _ = cheats_run
    results = pd.read_csv(out / "results.csv")
    image = results["image"].iloc[0]
    hole = (
        np.asarray(Image.open(next((out / "images" / "masks").glob("center-*")) / f"{_key(image)}.png")) > 127
    )
    for model in CHEATS:
        [folder] = (out / "images" / "pred").glob(f"{model}-*")
        pred = np.asarray(Image.open(next(folder.glob("center-*")) / f"{_key(image)}.png"))
        assert (pred[hole] == round(HOLE_VALUE * 255)).all(), model


def _key(image_id: str) -> str:
    from inpaintbench.exchange import file_key

    return file_key(image_id)


def test_hidden_pixels_cannot_reach_what_is_scored():
    """Two targets that differ only inside the hole give bit-identical scored predictions, for every
    model the cheat plugin and the host offer (the host path ``inpaint_sealed``, as the runner)."""
    registry = build_registry()
    rng = np.random.default_rng(0)
    target = torch.from_numpy(rng.random((3, 3, 32, 32), dtype=np.float32))
    holes = torch.zeros(3, 1, 32, 32)
    holes[..., 8:24, 8:24] = 1
    other = torch.where(holes.bool(), torch.rand(3, 3, 32, 32), target)
    for name in ["mean_fill", "biharmonic"]:
        model = registry.get("model", name)
        a = inpaint_sealed(model, target.clone(), holes.clone(), ["a", "b", "c"], "center")
        b = inpaint_sealed(model, other.clone(), holes.clone(), ["a", "b", "c"], "center")
        assert torch.equal(a[holes.bool().expand_as(a)], b[holes.bool().expand_as(b)]), name


def test_the_model_gets_fresh_tensors_and_who_it_is_inpainting():
    target = torch.rand(2, 3, 16, 16)
    holes = torch.zeros(2, 1, 16, 16)
    holes[..., :8, :] = 1
    batch = seal(target, holes, ["x/1", "y/2"], "lama-thick:512")
    assert isinstance(batch, Batch) and batch.image_ids == ("x/1", "y/2")
    assert batch.regime == "lama-thick:512" and batch.regime_name == "lama-thick"
    assert batch.images.dtype == torch.float32 and batch.masks.dtype == torch.float32
    assert (batch.images[holes.bool().expand(2, 3, 16, 16)] == HOLE_VALUE).all()
    assert torch.equal(batch.images[..., 8:, :], target[..., 8:, :])
    for given, kept in ((batch.images, target), (batch.masks, holes)):
        assert given.untyped_storage().data_ptr() != kept.untyped_storage().data_ptr()
        assert given._base is None


def test_prepare_reaches_the_training_split_only(tmp_path):
    """The memoriser read scikit-image's training photos (allowed) and nothing of the test split."""
    result = run(
        tmp_path,
        "--model",
        "cheat_memorise,cheat_constant",
        "--masks",
        "center",
        "--metrics",
        "psnr",
        "--limit",
        "4",
    )
    assert result.returncode == 0, result.stderr
    scores = pd.read_csv(tmp_path / "results.csv").pivot(index="image", columns="model", values="psnr")
    assert (scores["cheat_memorise"] == scores["cheat_constant"]).all()


@pytest.fixture
def photo_folder(tmp_path):
    from inpaintbench.datasets.samples import SPLITS, load_photo

    folder = tmp_path / "photos"
    folder.mkdir()
    for name in SPLITS["test"]:
        load_photo(name).save(folder / f"{name}.png")
    return folder


def test_training_on_the_test_images_is_refused_without_the_flag(tmp_path, photo_folder):
    result = run(
        tmp_path / "run",
        "--model",
        "honest_trainer,cheat_memorise,cheat_constant",
        "--masks",
        "center",
        "--dataset",
        f"folder:{photo_folder}",
        "--metrics",
        "psnr",
    )
    assert result.returncode == 1
    out = tmp_path / "run"
    run_json = json.loads((out / "run.json").read_text())
    [failure] = run_json["failures"]
    assert failure["model"] == "honest_trainer" and failure["stage"] == "prepare"
    assert "--train-on-test" in failure["error"] and "no training split" in failure["error"]
    assert run_json["models"]["honest_trainer"]["status"] == "failed"
    assert run_json["models"]["cheat_memorise"]["held_out"] is True  # it was refused, so read nothing
    scores = pd.read_csv(out / "results.csv").pivot(index="image", columns="model", values="psnr")
    assert (scores["cheat_memorise"] == scores["cheat_constant"]).all()


def test_training_on_the_test_images_when_asked_is_marked_not_held_out(tmp_path, photo_folder):
    result = run(
        tmp_path / "run",
        "--model",
        "cheat_memorise,mean_fill",
        "--masks",
        "center",
        "--dataset",
        f"folder:{photo_folder}",
        "--metrics",
        "psnr",
        "--train-on-test",
    )
    assert result.returncode == 0, result.stderr
    out = tmp_path / "run"
    scores = pd.read_csv(out / "results.csv").groupby("model")["psnr"].mean()
    assert scores["cheat_memorise"] == 100.0  # it looked the answers up: exactly why it is flagged
    run_json = json.loads((out / "run.json").read_text())
    assert run_json["models"]["cheat_memorise"]["held_out"] is False
    assert run_json["models"]["mean_fill"]["held_out"] is True
    summary = pd.read_csv(out / "summary.csv").set_index("model")
    assert not summary.loc["cheat_memorise", "held_out"] and summary.loc["mean_fill", "held_out"]
    [line] = [line for line in result.stdout.splitlines() if line.startswith("cheat_memorise")]
    assert line.rstrip().endswith("not held-out")
    assert "not held-out" in (out / "index.html").read_text()


def test_a_wrong_shape_metric_is_named_and_every_row_survives(tmp_path):
    result = run(
        tmp_path,
        "--model",
        "mean_fill,biharmonic",
        "--masks",
        "center",
        "--metrics",
        "cheat_column,psnr,cheat_scalar,ssim",
        "--limit",
        "4",
    )
    assert result.returncode == 1
    assert "metric 'cheat_column' failed" in result.stderr and "(4, 1)" in result.stderr
    assert "metric 'cheat_scalar' failed" in result.stderr and "shape ()" in result.stderr
    assert "model 'mean_fill' failed" not in result.stderr
    run_json = json.loads((tmp_path / "run.json").read_text())
    assert {f["metric"] for f in run_json["metric_failures"]} == {"cheat_column", "cheat_scalar"}
    assert run_json["failures"] == []
    results = pd.read_csv(tmp_path / "results.csv")
    assert len(results) == 8 and results[["psnr", "ssim"]].notna().all().all()
    assert results["cheat_column"].isna().all()
    assert "cheat_column" in (tmp_path / "errors.log").read_text()


def test_a_metric_editing_its_inputs_cannot_change_later_metrics(tmp_path):
    clean, edited = tmp_path / "clean", tmp_path / "edited"
    common = ["--model", "mean_fill", "--masks", "center", "--limit", "3"]
    assert run(clean, *common, "--metrics", "psnr").returncode == 0
    assert run(edited, *common, "--metrics", "cheat_edits_target,psnr").returncode == 0
    a, b = (pd.read_csv(d / "results.csv")["psnr"] for d in (clean, edited))
    pd.testing.assert_series_equal(a, b)
    assert a.max() < 40


def test_a_nondeterministic_mask_plugin_is_refused_by_name(tmp_path):
    result = run(tmp_path / "run", "--model", "mean_fill", "--masks", "center,cheat_global_random")
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(
        "error: mask regime 'cheat_global_random' (ib_cheat.GlobalRandom) drew a different"
    )
    assert "only the rng" in line


def test_a_soft_mask_is_refused(tmp_path):
    result = run(tmp_path / "run", "--model", "mean_fill", "--masks", "cheat_soft")
    assert result.returncode == 2
    assert "mask regime 'cheat_soft' drew a float64 mask" in result.stderr and "binary" in result.stderr


def test_a_partial_model_is_flagged_and_not_ranked(tmp_path):
    result = run(
        tmp_path,
        "--model",
        "mean_fill,cheat_halfway",
        "--masks",
        "center",
        "--metrics",
        "psnr",
        "--limit",
        "8",
        "--batch-size",
        "4",
    )
    assert result.returncode == 1
    assert "incomplete: model 'cheat_halfway' is partial (4 of 8 results)" in result.stderr
    [line] = [line for line in result.stdout.splitlines() if line.startswith("cheat_halfway")]
    assert "partial: 4 of 8 images" in line
    summary = pd.read_csv(tmp_path / "summary.csv").set_index("model")
    assert (
        summary.loc["cheat_halfway", "status"] == "partial"
        and summary.loc["mean_fill", "status"] == "complete"
    )
    assert summary.loc["cheat_halfway", "mean"] > summary.loc["mean_fill", "mean"]  # flattering, yet:
    run_json = json.loads((tmp_path / "run.json").read_text())
    assert run_json["models"]["cheat_halfway"]["regimes"]["center"] == {
        "rows": 4,
        "expected": 8,
        "status": "partial",
    }
    assert "RuntimeError: out of memory, say" in (tmp_path / "errors.log").read_text()
    page = (tmp_path / "index.html").read_text()
    board = page[page.index('id="leaderboard"') : page.index('id="breakdown"')]
    rows = re.findall(r"<tr class=\"(\w+)\">(.*?)</tr>", board, flags=re.S)
    assert [(status, "cheat_halfway" in row, "★" in row) for status, row in rows] == [
        ("complete", False, True),
        ("partial", True, False),
    ]


def test_arguments_are_never_ignored(tmp_path):
    cases = (
        ("--model", "model", "mean_fill:xyz"),
        ("--masks", "mask", "center:abc"),
        ("--metrics", "metric", "l1_hole:lama"),
    )
    for flag, kind, spec in cases:
        args = {"--model": "mean_fill", "--masks": "center", "--metrics": "psnr"} | {flag: spec}
        result = run(tmp_path / "never", *[x for kv in args.items() for x in kv])
        name = spec.partition(":")[0]
        assert result.returncode == 2, spec
        assert result.stderr.strip().splitlines() == [
            f"error: {kind} '{name}' takes no argument, so '{spec}' is refused; write '{name}'"
        ]
    assert not (tmp_path / "never").exists()


def test_a_metric_without_a_direction_is_not_registered():
    result = cli_in_process("list", "metrics", plugins="nodirection")
    assert result.returncode == 0
    assert "nodirection_metric" not in result.stdout and "nodirection_fine" in result.stdout
    assert result.stderr.strip().splitlines() == [
        "warning: plugin 'nodirection': metric 'nodirection_metric' must declare higher_is_better = True or "
        "False; skipped"
    ]


def test_an_unknown_plugin_name_is_a_warning():
    result = cli_in_process("list", "models", plugins="cheat,no_such_plugin")
    assert result.returncode == 0
    assert "INPAINTBENCH_PLUGINS names 'no_such_plugin'" in result.stderr


def test_list_verbose_names_the_plugin_and_the_argument():
    result = cli_in_process("list", "masks", "-v", plugins="toy")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    at = lines.index(next(line for line in lines if line.startswith("toy_corner ")))
    assert lines[at + 1].split() == ["from", "plugin", "toy"]
    assert lines[at + 2].split()[:2] == ["toy_corner:ARG", "N,"]


def test_debug_prints_the_plugin_traceback(tmp_path):
    args = ["--model", "cheat_halfway", "--masks", "center", "--limit", "4", "--batch-size", "2"]
    quiet = run(tmp_path / "quiet", *args)
    loud = run(tmp_path / "loud", *args, "--debug")
    assert quiet.returncode == loud.returncode == 1
    assert "Traceback" not in quiet.stderr
    assert "Traceback (most recent call last)" in loud.stderr and 'ib_cheat/__init__.py"' in loud.stderr
