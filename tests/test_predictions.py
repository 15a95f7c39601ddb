"""Scoring a model that runs elsewhere: ``inpaintbench export``, outside code that reads the export the
way LaMa's ``bin/predict.py`` does, then ``run --model predictions:DIR``, all through the real CLI."""

from __future__ import annotations

import glob
import hashlib
import itertools
import json
import os
import re
import shutil
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import torch
from conftest import cli_in_process
from PIL import Image
from skimage.restoration import inpaint_biharmonic

from inpaintbench import Batch, InpaintbenchError
from inpaintbench.exchange import image_name, mask_digest, regime_folder
from inpaintbench.files.layout import file_key, mask_png, prediction_png
from inpaintbench.plugins import build_registry

REGIMES = ["center", "random"]
SEED, LIMIT, SIZE = "7", "6", "128"
COMMON = ["--masks", ",".join(REGIMES), "--image-size", SIZE, "--seed", SEED, "--limit", LIMIT]


def lama_style_predict(indir: Path, outdir: Path, bits: int = 8, plain: bool = False) -> None:
    """Outside code: finds masks and images exactly as LaMa's InpaintingDataset does (recursive glob of
    ``*mask*.png``, image = the name cut at the last ``_mask``), inpaints with scikit-image's
    biharmonic and writes ``outdir/<same relative path>.png`` (or ``NAME.png`` when ``plain``)."""
    root = str(indir) + "/"
    for mask_file in sorted(glob.glob(os.path.join(root, "**", "*mask*.png"), recursive=True)):
        image = np.asarray(Image.open(mask_file.rsplit("_mask", 1)[0] + ".png").convert("RGB")) / 255.0
        hole = np.asarray(Image.open(mask_file).convert("L")) > 0
        filled = np.clip(inpaint_biharmonic(image, hole, channel_axis=-1), 0, 1)
        relative = os.path.splitext(mask_file[len(root) :])[0]
        target = outdir / (relative.rsplit("_mask", 1)[0] if plain else relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        if bits == 16:  # OpenCV writes 16-bit colour PNGs (BGR order)
            cv2.imwrite(f"{target}.png", np.rint(filled * 65535).astype(np.uint16)[:, :, ::-1])
        else:
            Image.fromarray(np.rint(filled * 255).astype(np.uint8)).save(f"{target}.png")


def originals() -> dict[str, np.ndarray]:
    """The first LIMIT test images of ``samples`` as uint8, what the export must not contain."""
    dataset = build_registry().get("dataset", "samples")
    samples = list(itertools.islice(dataset.samples("test", int(SIZE)), int(LIMIT)))
    return {s.image_id: np.rint(s.image * 255).astype(np.uint8) for s in samples}


def read_rgb(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def listing_sha(root: Path, folder: str) -> str:
    """What ``sha256sum FOLDER/* | LC_ALL=C sort -k2 | sha256sum`` prints, over the prediction files."""
    lines = [
        f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {folder}/{p.name}\n"
        for p in sorted((root / folder).iterdir())
        if p.name.endswith("_mask000.png")
    ]
    return hashlib.sha256("".join(lines).encode()).hexdigest()


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export") / "set"
    result = cli_in_process("export", "--dataset", "samples", *COMMON, "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert f"--model predictions:PRED --dataset samples {' '.join(COMMON)}" in result.stdout
    return out


@pytest.fixture(scope="module")
def loop(export_dir, tmp_path_factory):
    """Two prediction folders of the same biharmonic output, LaMa's naming in 8 bits and plain
    ``NAME.png`` in 16 bits, plus stray files, scored in one run against the built-in biharmonic."""
    base = tmp_path_factory.mktemp("loop")
    lama, plain = base / "pred_lama", base / "pred_plain16"
    lama_style_predict(export_dir, lama)
    lama_style_predict(export_dir, plain, bits=16, plain=True)
    stray = [f"{regime_folder('center')}/ghost-0123456789_mask000.png", f"{regime_folder('block')}/x.png"]
    for rel in stray:
        (lama / rel).parent.mkdir(exist_ok=True)
        shutil.copy(next((lama / regime_folder("center")).iterdir()), lama / rel)
    out = base / "run"
    models = f"predictions:{lama},predictions:{plain},biharmonic"
    result = cli_in_process(
        "run", "--model", models, *COMMON, "--metrics", "psnr,ssim", "--out", str(out), "--no-progress"
    )
    return {"lama": f"predictions:{lama}", "plain": f"predictions:{plain}", "out": out, "stray": stray,
            "result": result, "dirs": {"lama": lama, "plain": plain}}  # fmt: skip


def test_export_holds_the_sealed_inputs_and_the_masks(export_dir):
    manifest = json.loads((export_dir / "manifest.json").read_text())
    assert manifest["format"] == "inpaintbench-export/1" and manifest["hole_value"] == 0.0
    assert (manifest["image_size"], manifest["seed"], manifest["limit"]) == (128, 7, 6)
    assert manifest["dataset"]["spec"] == "samples" and "inpaintbench.models" in manifest["plugins"]
    assert list(manifest["regimes"]) == REGIMES
    truth = originals()
    files = {p.relative_to(export_dir).as_posix() for p in export_dir.rglob("*") if p.is_file()}
    assert len(files) == 2 * 6 * 2 + 1
    for spec, regime in manifest["regimes"].items():
        assert regime["folder"] == regime_folder(spec) == file_key(spec)
        assert [e["id"] for e in regime["images"]] == list(truth)
        for entry in regime["images"]:
            name = entry["name"]
            assert entry["input"]["file"] == f"{regime['folder']}/{name}.png"
            assert entry["mask"]["file"] == f"{regime['folder']}/{name}_mask000.png"
            for kind in ("input", "mask"):
                data = (export_dir / entry[kind]["file"]).read_bytes()
                assert hashlib.sha256(data).hexdigest() == entry[kind]["sha256"]
            with Image.open(export_dir / entry["mask"]["file"]) as im:
                assert (im.mode, im.format) == ("L", "PNG")
                hole = np.asarray(im) == 255
                assert set(np.unique(np.asarray(im))) <= {0, 255}
            assert entry["hole_ratio"] == pytest.approx(hole.mean())
            assert name == f"{file_key(entry['id'])}-{mask_digest(hole)}" and "mask" not in name
            blanked = read_rgb(export_dir / entry["input"]["file"])
            assert (blanked[hole] == 0).all()  # HOLE_VALUE 0.0 is black in 8 bits
            assert np.array_equal(blanked[~hole], truth[entry["id"]][~hole])


def test_no_file_of_the_export_holds_the_ground_truth_inside_a_hole(export_dir):
    """Every file against every (image, regime) hole: a file of the same image may show a hidden pixel
    only where its own regime's hole leaves it known (as a run shows one model every regime), and only a
    hidden pixel that is itself black (the fill) or white (a mask) may match anywhere else; files of
    other images match no more than by chance."""
    manifest = json.loads((export_dir / "manifest.json").read_text())
    truth = originals()
    entries = [entry for regime in manifest["regimes"].values() for entry in regime["images"]]
    holes = {
        entry["mask"]["file"]: read_rgb(export_dir / entry["mask"]["file"])[:, :, 0] == 255
        for entry in entries
    }
    files = [(entry[kind]["file"], entry) for entry in entries for kind in ("input", "mask")]
    assert len(files) == len(list(export_dir.rglob("*.png")))
    for file, owner in files:
        pixels = read_rgb(export_dir / file)
        for entry in entries:
            hidden = holes[entry["mask"]["file"]]
            same = (pixels == truth[entry["id"]]).all(axis=-1)
            plain = (truth[entry["id"]] == 0).all(-1) | (truth[entry["id"]] == 255).all(-1)
            if owner["id"] == entry["id"]:
                assert not (same & hidden & holes[owner["mask"]["file"]] & ~plain).any(), (file, entry["id"])
            else:
                assert (same & hidden).sum() < 0.01 * hidden.sum(), (file, entry["id"])


def test_the_loop_scores_what_the_builtin_biharmonic_scores(loop):
    assert loop["result"].returncode == 0, loop["result"].stderr
    results = pd.read_csv(loop["out"] / "results.csv")
    psnr = results.pivot_table(index=["mask", "image"], columns="model", values="psnr")
    assert len(psnr) == 12 and psnr.notna().all().all()
    for regime in REGIMES:
        means = psnr.loc[regime].mean()
        assert abs(means[loop["lama"]] - means["biharmonic"]) < 0.05, regime  # 8-bit rounding only
    assert (psnr[loop["lama"]] - psnr["biharmonic"]).abs().max() < 0.05
    summary = pd.read_csv(loop["out"] / "summary.csv")
    assert set(summary["status"]) == {"complete"}


def test_the_run_scores_on_the_exported_masks(loop, export_dir):
    manifest = json.loads((export_dir / "manifest.json").read_text())
    for spec, regime in manifest["regimes"].items():
        for entry in regime["images"]:
            exported = (export_dir / entry["mask"]["file"]).read_bytes()
            assert mask_png(loop["out"], spec, entry["id"]).read_bytes() == exported


def test_run_json_records_folder_hashes_and_unread_files(loop):
    run_json = json.loads((loop["out"] / "run.json").read_text())
    lama_dir = loop["dirs"]["lama"]
    entry = run_json["models"][loop["lama"]]
    provenance = entry["provenance"]
    assert provenance["folder"] == str(lama_dir.resolve())
    for regime in REGIMES:
        folder = regime_folder(regime)
        expected = {"folder": folder, "files": 6}
        if regime == "random":  # the center folder also holds the ghost, which is not read
            expected["sha256"] = listing_sha(lama_dir, folder)
        assert provenance["read"][regime].items() >= expected.items()
        assert entry["sources"][regime] == str(lama_dir.resolve() / folder)
    assert provenance["unread"] == {"count": 2, "files": sorted(loop["stray"])}
    assert f"folder {regime_folder('block')} is no regime of this run" in loop["result"].stderr


def test_plain_names_and_16_bit_files_are_read(loop):
    results = pd.read_csv(loop["out"] / "results.csv")
    psnr = results.pivot_table(index=["mask", "image"], columns="model", values="psnr")
    assert (psnr[loop["plain"]] - psnr[loop["lama"]]).abs().max() < 0.05
    for regime in REGIMES:
        for image_id in results["image"].unique():
            a, b = (
                read_rgb(prediction_png(loop["out"], loop[key], regime, image_id)).astype(int)
                for key in ("lama", "plain")
            )
            assert np.abs(a - b).max() <= 1  # 16 bits read as 8 (the high byte) against rounded 8


def test_two_prediction_folders_are_two_models_everywhere(loop):
    out = loop["out"]
    models = [loop["lama"], loop["plain"], "biharmonic"]
    assert list(pd.read_csv(out / "results.csv")["model"].unique()) == models
    assert set(pd.read_csv(out / "summary.csv")["model"]) == set(models)
    html = (out / "index.html").read_text()
    assert all(model in html for model in models)


def broken_copies(source: Path, base: Path) -> dict[str, tuple[Path, str]]:
    """Copies of a good prediction folder, each broken for one center image: name -> (folder, the
    file the error must name)."""
    center = regime_folder("center")
    victim = sorted((source / center).iterdir())[4]
    out = {}
    for case in ("missing", "misnamed", "unreadable", "wrong_size", "no_folder"):
        folder = base / case
        shutil.copytree(source, folder)
        path = folder / center / victim.name
        if case == "missing":
            path.unlink()
        elif case == "misnamed":
            path.rename(path.with_name(victim.name.replace("_mask000", "_mask001")))
        elif case == "unreadable":
            path.write_bytes(b"\x89PNG\r\n\x1a\n not really")
        elif case == "wrong_size":
            Image.open(victim).resize((64, 64)).save(path)
        else:
            shutil.rmtree(folder / regime_folder("random"))
            path = folder / regime_folder("random")
        out[case] = (folder, str(path.resolve()))
    return out


def test_broken_predictions_are_named_and_every_other_row_is_kept(loop, tmp_path):
    cases = broken_copies(loop["dirs"]["lama"], tmp_path)
    specs = {case: f"predictions:{folder}" for case, (folder, _) in cases.items()}
    result = cli_in_process(
        "run", "--model", ",".join([*specs.values(), "biharmonic"]), *COMMON, "--metrics", "psnr",
        "--batch-size", "2", "--no-images", "--out", str(tmp_path / "run"), "--no-progress",
    )  # fmt: skip
    assert result.returncode == 1
    run_json = json.loads((tmp_path / "run" / "run.json").read_text())
    failures = {f["model"]: f for f in run_json["failures"]}
    assert set(failures) == set(specs.values())
    for case, spec in specs.items():
        failure, named = failures[spec], cases[case][1]
        regime = "random" if case == "no_folder" else "center"
        assert (failure["stage"], failure["mask"]) == ("inpaint", regime)
        assert named in failure["error"], case
        [line] = [line for line in result.stderr.splitlines() if line.startswith(f"error: model '{spec}'")]
        assert named in line and f"failed (inpaint, {regime})" in line
        rows = run_json["models"][spec]["regimes"]
        assert rows[regime]["rows"] == (0 if case == "no_folder" else 4)  # batches before the bad file
        assert rows["random" if regime == "center" else "center"]["status"] == "complete"
    assert "cannot be read as an image" in failures[specs["unreadable"]]["error"]
    assert "is 64 x 64 px, expected 128 x 128" in failures[specs["wrong_size"]]["error"]
    unread = run_json["models"][specs["misnamed"]]["provenance"]["unread"]["files"]
    assert (
        f"{regime_folder('center')}/{Path(cases['misnamed'][1]).name.replace('_mask000', '_mask001')}"
        in unread
    )
    results = pd.read_csv(tmp_path / "run" / "results.csv")
    assert (results["model"] == "biharmonic").sum() == 12


def test_predictions_for_other_masks_are_never_scored(loop, tmp_path):
    """With another --seed the random masks differ: those files (whose pixels outside the old hole are
    ground truth inside the new one) are refused by name; the seed-free center masks still match."""
    spec = loop["lama"]
    args = [
        "--masks",
        "center,random",
        "--image-size",
        SIZE,
        "--seed",
        "8",
        "--limit",
        LIMIT,
        "--metrics",
        "psnr",
    ]
    result = cli_in_process(
        "run", "--model", spec, *args, "--no-images", "--out", str(tmp_path), "--no-progress"
    )
    assert result.returncode == 1
    run_json = json.loads((tmp_path / "run.json").read_text())
    assert run_json["models"][spec]["regimes"]["center"]["status"] == "complete"
    assert run_json["models"][spec]["regimes"]["random"]["rows"] == 0
    [failure] = run_json["failures"]
    assert failure["mask"] == "random" and "was made for another mask of this image" in failure["error"]
    assert "the same dataset, --image-size and --seed" in failure["error"]


def test_export_refuses_a_used_folder_in_one_line(export_dir):
    result = cli_in_process("export", "--dataset", "samples", *COMMON, "--out", str(export_dir))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: --out {export_dir} exists and is not an empty folder: choose a new one"
    ]


def test_export_of_an_evaluation_set_keeps_its_frozen_masks(tmp_path):
    frozen, exported = tmp_path / "frozen", tmp_path / "exported"
    args = ["--image-size", "64", "--limit", "3", "--masks", "center,lama-thick"]
    assert (
        cli_in_process(
            "freeze", "--dataset", "samples", *args, "--seed", "5", "--out", str(frozen)
        ).returncode
        == 0
    )
    result = cli_in_process(
        "export", "--dataset", f"evalset:{frozen}", *args, "--seed", "99", "--out", str(exported)
    )
    assert result.returncode == 0, result.stderr
    set_manifest = json.loads((frozen / "manifest.json").read_text())
    manifest = json.loads((exported / "manifest.json").read_text())
    for spec in ("center", "lama-thick"):
        frozen_shas = [m["sha256"] for m in set_manifest["regimes"][spec]["masks"]]
        assert [e["mask"]["sha256"] for e in manifest["regimes"][spec]["images"]] == frozen_shas


def test_prediction_files_in_other_modes_and_formats(tmp_path):
    """Grey is promoted, alpha dropped, 16-bit grey read at full precision, TIFF read."""
    folder = tmp_path / regime_folder("center")
    folder.mkdir()
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    grey16 = rng.integers(0, 65536, (8, 8), dtype=np.uint16)
    files = {
        "rgba": ("_mask000.png", Image.fromarray(np.dstack([rgb, np.zeros((8, 8), np.uint8)]), "RGBA")),
        "grey": (".png", Image.fromarray(rgb[:, :, 0])),
        "grey16": ("_mask000.png", Image.fromarray(grey16)),
        "tiff": (".tif", Image.fromarray(rgb)),
    }
    for image_id, (suffix, image) in files.items():
        image.save(folder / f"{image_name(image_id, np.ones((8, 8), bool))}{suffix}")
    model = build_registry().get("model", f"predictions:{tmp_path}")
    batch = Batch(torch.zeros(4, 3, 8, 8), torch.ones(4, 1, 8, 8), tuple(files), "center")
    out = model.inpaint(batch).permute(0, 2, 3, 1).numpy()
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out[0], rgb / np.float32(255))
    np.testing.assert_array_equal(out[1], np.repeat(rgb[:, :, :1], 3, axis=2) / np.float32(255))
    np.testing.assert_allclose(out[2], np.repeat(grey16[:, :, None], 3, axis=2) / 65535, atol=1e-7)
    np.testing.assert_array_equal(out[3], rgb / np.float32(255))


def test_a_folder_that_is_no_predictions_folder_is_refused(tmp_path, export_dir):
    registry = build_registry()
    for spec, message in (
        ("predictions", "needs a folder: predictions:DIR"),
        (f"predictions:{tmp_path / 'nowhere'}", "is not a folder"),
        (f"predictions:{export_dir}", "so it is an export or evaluation set"),
    ):
        with pytest.raises(InpaintbenchError, match=re.escape(message)):
            registry.get("model", spec)
