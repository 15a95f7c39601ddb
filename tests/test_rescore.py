"""Every number recomputable from the run folder: a run scores the 8-bit composites it saves, so its rows
follow from its PNGs (``inpaintbench rescore``, or ten lines of numpy), and a model scored in-process
and through a predictions folder of its own PNGs gives the identical table."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import cli_in_process
from PIL import Image

from inpaintbench.exchange import image_name, regime_folder
from inpaintbench.files import layout
from inpaintbench.testing.released import save_torchscript

METRICS = "psnr,ssim,l1_hole,psnr_hole"
COMMON = ["--masks", "center,random", "--metrics", METRICS, "--image-size", "64", "--limit", "12"]


@pytest.fixture(scope="module")
def every_builtin(tmp_path_factory) -> Path:
    """Every built-in model scored in-process (a scripted LaMa-like network for the file adapters)."""
    base = tmp_path_factory.mktemp("rescore")
    scripted = save_torchscript(base / "lama_like.pt")
    out = base / "run"
    models = f"mean_fill,biharmonic,opencv_telea,opencv_ns,torchscript:{scripted}"
    result = cli_in_process("run", "--model", models, *COMMON, "--out", str(out), "--no-progress")
    assert result.returncode == 0, result.stderr
    return out


def _png(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float64) / 255


def test_rescore_recomputes_every_row_of_every_builtin_from_its_pngs(every_builtin):
    result = cli_in_process("rescore", str(every_builtin))
    assert result.returncode == 0, result.stderr
    rows = len(pd.read_csv(every_builtin / layout.RESULTS_CSV))
    assert result.stdout.startswith(
        f"{rows} rows of {every_builtin}: psnr, ssim, l1_hole, psnr_hole recomputed"
    )
    gaps = dict(
        part.rsplit(" ", 1) for part in result.stdout.split("largest gap ")[1].strip(")\n").split(", ")
    )
    assert float(gaps["psnr"]) <= 1e-6 and float(gaps["psnr_hole"]) <= 1e-6 and float(gaps["ssim"]) <= 1e-5


def test_ten_lines_of_numpy_give_the_psnr_column(every_builtin):
    """What the README shows: PSNR over the whole image from the kept target and prediction PNGs."""
    results = pd.read_csv(every_builtin / layout.RESULTS_CSV)
    assert set(results["model"]) >= {"mean_fill", "biharmonic", "opencv_telea", "opencv_ns"}
    for row in results.itertuples():
        target = _png(layout.target_png(every_builtin, row.image))
        pred = _png(layout.prediction_png(every_builtin, row.model, row.mask, row.image))
        psnr = 10 * np.log10(1 / np.mean((pred - target) ** 2))
        assert psnr == pytest.approx(row.psnr, abs=1e-4), (row.model, row.mask, row.image)


def test_a_changed_png_is_named_by_its_row(every_builtin, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(every_builtin, copy)
    image = pd.read_csv(copy / layout.RESULTS_CSV)["image"].iloc[3]
    pred = layout.prediction_png(copy, "biharmonic", "center", image)
    pixels = np.asarray(Image.open(pred)).copy()
    pixels[28:36, 28:36] ^= 1  # the least significant bit of some hole pixels
    Image.fromarray(pixels).save(pred)
    result = cli_in_process("rescore", str(copy))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith(f"differs: model biharmonic, mask center, image {image}: psnr is ")
    assert lines[-1].startswith("error: ") and lines[-1].endswith(
        f"of {copy / 'results.csv'} differ from its PNGs"
    )


def test_new_metrics_are_written_beside_the_run_and_change_nothing(every_builtin, tmp_path):
    before = (every_builtin / layout.RESULTS_CSV).read_bytes()
    out = tmp_path / "more.csv"
    result = cli_in_process("rescore", str(every_builtin), "--metrics", "psnr,l2_hole", "-o", str(out))
    assert result.returncode == 0, result.stderr
    rescored, stored = pd.read_csv(out), pd.read_csv(every_builtin / layout.RESULTS_CSV)
    assert list(rescored.columns) == ["model", "mask", "image", "source", "psnr", "l2_hole"]
    np.testing.assert_array_equal(rescored["psnr"], stored["psnr"])
    assert (every_builtin / layout.RESULTS_CSV).read_bytes() == before


def test_float_scores_differ_from_the_pngs_and_are_not_checked(tmp_path):
    """The switch to the old behaviour: the numbers move off the saved files (so the default matters),
    run.json says so, and rescore refuses to check them."""
    out = tmp_path / "float"
    args = ["--model", "biharmonic", *COMMON, "--out", str(out), "--no-progress", "--no-references"]
    assert cli_in_process("run", *args, "--float-scores").returncode == 0
    import json

    assert json.loads((out / layout.RUN_JSON).read_text())["config"]["float_scores"] is True
    checked = cli_in_process("rescore", str(out))
    assert checked.returncode == 2 and "--float-scores" in checked.stderr
    recomputed = cli_in_process("rescore", str(out), "--metrics", "psnr")
    assert recomputed.returncode == 0, recomputed.stderr
    stored, again = pd.read_csv(out / layout.RESULTS_CSV), pd.read_csv(out / "rescored.csv")
    assert (np.abs(stored["psnr"] - again["psnr"]) > 1e-4).any()


def test_in_process_and_a_predictions_folder_of_its_pngs_give_one_table(every_builtin, tmp_path):
    """biharmonic's own PNGs, laid out as outside predictions (``export``'s names), scored again."""
    results = pd.read_csv(every_builtin / layout.RESULTS_CSV)
    mine = results[results["model"] == "biharmonic"]
    folder = tmp_path / "pred"
    for row in mine.itertuples():
        mask = np.asarray(Image.open(layout.mask_png(every_builtin, row.mask, row.image))) >= 128
        target = folder / regime_folder(row.mask) / f"{image_name(row.image, mask)}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(layout.prediction_png(every_builtin, "biharmonic", row.mask, row.image), target)
    out = tmp_path / "outside"
    args = [
        "--model",
        f"predictions:{folder}",
        *COMMON,
        "--out",
        str(out),
        "--no-progress",
        "--no-references",
    ]
    result = cli_in_process("run", *args)
    assert result.returncode == 0, result.stderr
    outside = pd.read_csv(out / layout.RESULTS_CSV)
    columns = ["mask", "image", "hole_ratio", *METRICS.split(",")]
    pd.testing.assert_frame_equal(
        outside[columns].reset_index(drop=True), mine[columns].reset_index(drop=True), check_exact=True
    )
