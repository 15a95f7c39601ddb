"""End-to-end runs through the real CLI: files on disk, failures recorded, resume after SIGKILL."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import cli_in_process, kill_part_way
from PIL import Image

from inpaintbench.files import layout

METRICS = "psnr,ssim,l1_hole,l2_hole,psnr_hole"


@pytest.fixture(scope="module")
def baseline_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    result = cli_in_process(
        "run",
        "--model",
        "mean_fill,biharmonic",
        "--masks",
        "center,random",
        "--limit",
        "6",
        "--metrics",
        METRICS,
        "--out",
        str(out),
        "--no-progress",
    )
    assert result.returncode == 0, result.stderr
    return out, result


def test_run_writes_results_summary_and_provenance(baseline_run):
    out, result = baseline_run
    results = pd.read_csv(out / "results.csv")
    assert list(results.columns) == [
        "model",
        "mask",
        "image",
        "source",
        "hole_ratio",
        *METRICS.split(","),
        "checkpoint",
    ]
    assert len(results) == 2 * 2 * 6
    assert results[METRICS.split(",")].notna().all().all()
    center = results[results["mask"] == "center"]
    assert np.allclose(center["hole_ratio"], 0.25)
    random_ratio = results[results["mask"] == "random"]["hole_ratio"]
    assert random_ratio.between(0.2, 0.3).all()

    summary = pd.read_csv(out / "summary.csv")
    assert list(summary.columns) == [
        "model",
        "mask",
        "metric",
        "mean",
        "std",
        "ci95_low",
        "ci95_high",
        "n",
        "unit",
        "n_sources",
        "status",
        "held_out",
        "reference",
    ]
    assert (summary["status"] == "complete").all() and summary["held_out"].all()
    assert not summary["reference"].any()  # mean_fill and biharmonic were asked for: nothing added
    row = summary.query("model == 'mean_fill' and mask == 'center' and metric == 'psnr'").iloc[0]
    values = results.query("model == 'mean_fill' and mask == 'center'")["psnr"]
    assert row["mean"] == pytest.approx(values.mean()) and row["n"] == 6
    # six crops of one photo (chelsea): one source, so no interval of the mean can be claimed
    assert (row["unit"], row["n_sources"]) == ("source", 1) and np.isnan(row["ci95_low"])

    run = json.loads((out / "run.json").read_text())
    assert run["config"]["models"] == ["mean_fill", "biharmonic"] and run["config"]["seed"] == 0
    assert run["finished"] and run["device"] == "cpu" and len(run["dataset"]["fingerprint"]) == 64
    assert run["versions"]["torch"] and "inpaintbench.models" in run["versions"]["plugins"]
    assert run["metric_info"]["psnr"]["higher_is_better"] is True
    assert run["metric_info"]["l1_hole"]["higher_is_better"] is False
    assert set(run["timings"]["eval_s"]) == {"mean_fill", "biharmonic"}
    assert "mean_fill" in result.stdout and "psnr" in result.stdout  # the terminal summary table


def test_every_model_sees_the_same_mask_and_the_original_outside_it(baseline_run):
    out, _ = baseline_run
    results = pd.read_csv(out / "results.csv")
    ratios = results.pivot_table(index=["mask", "image"], columns="model", values="hole_ratio")
    assert (ratios["mean_fill"] == ratios["biharmonic"]).all()
    image = results["image"].iloc[0]
    target = np.asarray(Image.open(layout.target_png(out, image)))
    hole = np.asarray(Image.open(layout.mask_png(out, "random", image))) > 127
    for model in ("mean_fill", "biharmonic"):
        pred = np.asarray(Image.open(layout.prediction_png(out, model, "random", image)))
        assert (pred[~hole] == target[~hole]).all()
        assert (pred[hole] != target[hole]).any()


def test_rerun_into_the_same_folder_recomputes_nothing(baseline_run):
    out, _ = baseline_run
    before = pd.read_csv(out / "results.csv")
    result = cli_in_process("run", "--resume", str(out), "--no-progress")
    assert result.returncode == 0, result.stderr
    run = json.loads((out / "run.json").read_text())
    assert run["sessions"][-1]["computed"] == 0
    pd.testing.assert_frame_equal(pd.read_csv(out / "results.csv"), before)


def test_different_settings_in_the_same_folder_are_refused(baseline_run):
    out, _ = baseline_run
    result = cli_in_process(
        "run",
        "--model",
        "mean_fill",
        "--masks",
        "center",
        "--limit",
        "6",
        "--seed",
        "1",
        "--metrics",
        METRICS,
        "--out",
        str(out),
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {out} holds a run with seed=0, not 1: use another --out, or the same settings to resume"
    ]
    assert len(pd.read_csv(out / "results.csv")) == 24


def test_broken_models_are_recorded_and_the_others_go_on(tmp_path):
    result = cli_in_process(
        "run",
        "--model",
        "toy_nan,toy_shape,toy_unprepared,toy_grey",
        "--masks",
        "toy_corner",
        "--metrics",
        "psnr,toy_mae",
        "--limit",
        "3",
        "--out",
        str(tmp_path),
        "--no-progress",
        "--no-references",
    )
    assert result.returncode == 1
    failures = {f["model"]: f for f in json.loads((tmp_path / "run.json").read_text())["failures"]}
    assert set(failures) == {"toy_nan", "toy_shape", "toy_unprepared"}
    assert "NaN" in failures["toy_nan"]["error"] and failures["toy_nan"]["stage"] == "inpaint"
    assert "shape" in failures["toy_shape"]["error"]
    assert failures["toy_unprepared"]["stage"] == "prepare"
    assert "RuntimeError: no weights for this toy" in (tmp_path / "errors.log").read_text()
    assert "Traceback" not in result.stderr  # tracebacks go to errors.log, or to the terminal with --debug
    results = pd.read_csv(tmp_path / "results.csv")
    assert set(results["model"]) == {"toy_grey"} and len(results) == 3
    assert (results["hole_ratio"] == 0.25).all()


def test_missing_lpips_weights_leave_the_other_metrics(tmp_path):
    result = cli_in_process(
        "run",
        "--model",
        "toy_grey",
        "--masks",
        "center",
        "--metrics",
        "psnr,lpips",
        "--limit",
        "2",
        "--out",
        str(tmp_path / "run"),
        "--no-progress",
        TORCH_HOME=str(tmp_path / "empty-torch-home"),
    )
    assert result.returncode == 0, result.stderr
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    [missing] = run["metrics_not_computed"]
    assert missing["metric"] == "lpips" and "alexnet" in missing["reason"]
    results = pd.read_csv(tmp_path / "run" / "results.csv")
    assert results["lpips"].isna().all() and results["psnr"].notna().all()


@pytest.mark.slow
def test_sigkill_then_resume_loses_and_recomputes_nothing(tmp_path):
    out = tmp_path / "killed"
    args = [
        "run",
        "--model",
        "toy_slow",
        "--masks",
        "toy_corner,center",
        "--metrics",
        "psnr,toy_mae",
        "--limit",
        "12",
        "--batch-size",
        "1",
        "--no-progress",
        "--no-images",
        "--no-references",
    ]
    kept = kill_part_way(args, out, 5, timeout=120)
    assert 5 <= kept < 24, "the run must be killed part-way"

    resumed = cli_in_process("run", "--resume", str(out), "--no-progress")
    assert resumed.returncode == 0, resumed.stderr
    sessions = json.loads((out / "run.json").read_text())["sessions"]
    assert [s["computed"] for s in sessions] == [kept, 24 - kept]

    clean = tmp_path / "clean"
    assert cli_in_process(*args, "--out", str(clean)).returncode == 0
    key = ["model", "mask", "image"]
    a = pd.read_csv(out / "results.csv").sort_values(key).reset_index(drop=True)
    b = pd.read_csv(clean / "results.csv").sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
