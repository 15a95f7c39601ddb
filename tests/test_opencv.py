"""OpenCV's classical baselines through the real CLI: listed without importing cv2 or torch, evaluated
on every image, equal to ``cv2.inpaint`` called directly on the 8-bit sealed input."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import cv2
import numpy as np
import pandas as pd
import pytest
from conftest import cli_env, cli_in_process
from PIL import Image

from inpaintbench import InpaintbenchError
from inpaintbench.files.layout import mask_png, prediction_png, target_png
from inpaintbench.plugins import build_registry
from inpaintbench.testing import check_model, prepare_context

MODELS = {"opencv_telea": cv2.INPAINT_TELEA, "opencv_ns": cv2.INPAINT_NS, "opencv_telea:7": cv2.INPAINT_TELEA}
REGIMES = ["center", "random"]


@pytest.fixture(scope="module")
def opencv_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("opencv")
    result = cli_in_process(
        "run", "--model", ",".join(MODELS), "--masks", ",".join(REGIMES), "--metrics", "psnr",
        "--out", str(out), "--no-progress",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return out


def pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def test_listed_without_importing_cv2_or_torch():
    result = cli_in_process("list", "models", "-v")
    assert result.returncode == 0, result.stderr
    assert "opencv_telea:ARG" in result.stdout and "opencv_ns:ARG" in result.stdout
    code = (
        "import sys; from inpaintbench.cli import main\n"
        "main(['list', 'models'])\n"
        "assert 'cv2' not in sys.modules and 'torch' not in sys.modules, 'cv2 or torch was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=cli_env())
    assert done.returncode == 0, done.stderr


@pytest.mark.slow
def test_every_image_is_scored(opencv_run):
    results = pd.read_csv(opencv_run / "results.csv")
    n_images = results["image"].nunique()
    assert n_images == 64  # the samples test split at 128 px
    assert results.groupby(["model", "mask"]).size().to_dict() == {
        (model, regime): n_images for model in MODELS for regime in REGIMES
    }
    assert results["psnr"].notna().all()
    run_json = json.loads((opencv_run / "run.json").read_text())
    assert run_json["failures"] == []
    provenance = run_json["models"]["opencv_telea:7"]["provenance"]
    assert provenance == {"opencv": cv2.__version__, "method": "INPAINT_TELEA", "radius": 7}
    assert run_json["models"]["opencv_ns"]["provenance"]["radius"] == 3


@pytest.mark.slow
def test_output_is_cv2_inpaint_on_the_8_bit_sealed_input(opencv_run):
    images = pd.read_csv(opencv_run / "results.csv")["image"].unique()
    for spec, method in MODELS.items():
        radius = int(spec.partition(":")[2] or 3)
        for regime in REGIMES:
            for image_id in images:
                hole = pixels(mask_png(opencv_run, regime, image_id))[:, :, 0] == 255
                target = pixels(target_png(opencv_run, image_id))  # samples is 8-bit: these are exact
                sealed = np.where(hole[:, :, None], 0, target).astype(np.uint8)
                direct = cv2.inpaint(sealed, hole.astype(np.uint8) * 255, radius, method)
                expected = np.where(hole[:, :, None], direct, target)
                got = pixels(prediction_png(opencv_run, spec, regime, image_id))
                assert np.array_equal(got, expected), (spec, regime, image_id)


def test_the_radius_changes_the_fill(opencv_run):
    images = pd.read_csv(opencv_run / "results.csv")["image"].unique()
    differ = [
        not np.array_equal(
            pixels(prediction_png(opencv_run, "opencv_telea", "center", image_id)),
            pixels(prediction_png(opencv_run, "opencv_telea:7", "center", image_id)),
        )
        for image_id in images
    ]
    assert all(differ)


@pytest.mark.parametrize("spec", ["opencv_telea", "opencv_ns:5"])
def test_the_plugin_kit_contract_holds(spec):
    model = build_registry().get("model", spec)
    model.prepare(prepare_context())
    check_model(model)


def test_a_bad_radius_is_refused_in_one_line(tmp_path):
    result = cli_in_process(
        "run", "--model", "opencv_telea:abc", "--masks", "center", "--out", str(tmp_path / "r")
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: model 'opencv_telea': radius 'abc' is not an integer of 1 or more (e.g. opencv_telea:5)"
    ]
    assert not (tmp_path / "r").exists()
    registry = build_registry()
    for arg in ("0", "-2", "2.5", ""):
        with pytest.raises(InpaintbenchError, match=re.escape(f"radius '{arg}' is not an integer of 1")):
            registry.get("model", f"opencv_ns:{arg}")
