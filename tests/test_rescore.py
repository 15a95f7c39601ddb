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


def test_rescore_recomputes_every_row_of_every_builtin_from_its_pngs(every_builtin):
    result = cli_in_process("rescore", str(every_builtin))
    assert result.returncode == 0, result.stderr
    results = pd.read_csv(every_builtin / layout.RESULTS_CSV)
    assert (
        set(results["model"])
        == {"mean_fill", "biharmonic", "opencv_telea", "opencv_ns"}
        | {m for m in results["model"] if m.startswith("torchscript:")}
        and results["model"].nunique() == 5
    )
    rows = len(results)
    assert result.stdout.startswith(
        f"{rows} rows of {every_builtin}: psnr, ssim, l1_hole, psnr_hole recomputed"
    )
    gaps = dict(
        part.rsplit(" ", 1) for part in result.stdout.split("largest gap ")[1].strip(")\n").split(", ")
    )
    assert float(gaps["psnr"]) <= 1e-6 and float(gaps["psnr_hole"]) <= 1e-6 and float(gaps["ssim"]) <= 1e-5


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


def test_the_readmes_ten_lines_run_and_agree(every_builtin, capsys):
    """The README's recomputation, run as printed against a real run folder."""
    import re

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    [code] = [c for c in re.findall(r"```python\n(.*?)```", readme, re.S) if "layout.target_png" in c]
    assert len(code.strip().splitlines()) <= 12
    exec(code.replace('"reports/RUN"', repr(str(every_builtin))), {})
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == len(pd.read_csv(every_builtin / layout.RESULTS_CSV))
    for line in printed:
        recomputed, stored = map(float, line.split()[-2:])
        assert recomputed == pytest.approx(stored, abs=1e-4)


def test_a_run_json_out_of_shape_is_one_line(every_builtin, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(every_builtin, copy)
    (copy / layout.RUN_JSON).write_text('{"config": []}')
    result = cli_in_process("rescore", str(copy))
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"error: {copy / layout.RUN_JSON} is not the file inpaintbench wrote")


def test_a_value_that_is_no_number_is_a_named_difference(every_builtin, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(every_builtin, copy)
    results = pd.read_csv(copy / layout.RESULTS_CSV)
    results["psnr"] = results["psnr"].astype(object)
    results.loc[2, "psnr"] = "abc"
    results.to_csv(copy / layout.RESULTS_CSV, index=False)
    result = cli_in_process("rescore", str(copy))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"image {results.loc[2, 'image']}: psnr is 'abc' in results.csv" in result.stderr


def test_out_that_is_a_folder_is_one_line_before_any_work(every_builtin, tmp_path):
    result = cli_in_process("rescore", str(every_builtin), "--metrics", "psnr", "-o", str(tmp_path))
    assert (
        result.returncode == 2
        and result.stderr == f"error: -o {tmp_path} is a folder: give the name of a file to write\n"
    )
