"""Frozen evaluation sets: ``inpaintbench freeze``, then ``run --dataset evalset:DIR`` through the CLI;
the frozen masks are the runner's masks, are used as frozen, and any change to a file is caught."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import cli_in_process
from PIL import Image

from inpaintbench.errors import InpaintbenchError
from inpaintbench.masks.draw import draw_mask
from inpaintbench.plugins import build_registry
from inpaintbench.version import __version__

REGIMES = "center,lama-thick,ratio:0.2-0.3,nn:2"
SEED = "5"


def files_under(folder: Path) -> dict[str, str]:
    """sha256 of every file below ``folder``, by relative path."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def results(run: Path) -> list[list[str]]:
    return [line.split(",")[:5] for line in (run / "results.csv").read_text().splitlines()[1:]]


@pytest.fixture(scope="module")
def frozen(tmp_path_factory):
    out = tmp_path_factory.mktemp("frozen") / "set"
    args = ["--dataset", "samples", "--masks", REGIMES, "--image-size", "64", "--seed", SEED, "--limit", "6"]
    result = cli_in_process("freeze", *args, "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out


def run(cli, out: Path, dataset: str, seed: str, masks: str = REGIMES, size: str = "64"):
    return cli(
        "run", "--model", "mean_fill", "--masks", masks, "--dataset", dataset, "--image-size", size,
        "--seed", seed, "--limit", "6", "--metrics", "psnr", "--out", str(out), "--no-progress",
    )  # fmt: skip


def test_manifest_records_everything(frozen):
    manifest = json.loads((frozen / "manifest.json").read_text())
    assert manifest["format"] == "inpaintbench-evalset/1"
    assert manifest["inpaintbench_version"] == __version__
    assert (manifest["seed"], manifest["image_size"], manifest["limit"]) == (5, 64, 6)
    assert manifest["dataset"]["spec"] == "samples"
    assert [i["id"] for i in manifest["images"]][:2] == ["chelsea/r0c0", "chelsea/r0c1"]
    assert list(manifest["regimes"]) == REGIMES.split(",")
    lama = manifest["regimes"]["lama-thick"]["generator"]
    assert lama["class"] == "inpaintbench.masks.lama.LamaThick"
    assert lama["parameters"]["preset"] == "thick-256" and lama["parameters"]["max_width"] == 100
    assert manifest["regimes"]["ratio:0.2-0.3"]["generator"]["arg"] == "0.2-0.3"
    entries = manifest["images"] + [m for r in manifest["regimes"].values() for m in r["masks"]]
    on_disk = files_under(frozen)
    assert len(entries) == 6 * 5 and len(on_disk) == 6 * 5 + 1
    assert all(on_disk[e["file"]] == e["sha256"] for e in entries)
    for regime in manifest["regimes"].values():
        for entry in regime["masks"]:
            with Image.open(frozen / entry["file"]) as im:
                pixels = np.asarray(im)
            assert im.format == "PNG" and set(np.unique(pixels)) <= {0, 255}
            assert entry["hole_ratio"] == pytest.approx((pixels == 255).mean())


def test_frozen_masks_are_the_runners_masks(frozen, tmp_path, cli):
    """A direct run with the same seed writes bit-identical mask PNGs and the same image pixels (a run
    compresses its ground truth faster than a frozen set, which is written once and kept)."""
    result = run(cli, tmp_path / "direct", "samples", SEED)
    assert result.returncode == 0, result.stderr
    direct = files_under(tmp_path / "direct" / "images")
    frozen_files = files_under(frozen / "images")
    assert {k for k in direct if not k.startswith("pred/")} == set(frozen_files)
    for name, digest in frozen_files.items():
        if name.startswith("masks/"):
            assert direct[name] == digest, name
        else:
            ran, kept = (np.asarray(Image.open(d / "images" / name)) for d in (tmp_path / "direct", frozen))
            assert np.array_equal(ran, kept), name


def test_evalset_round_trip_uses_the_frozen_masks(frozen, tmp_path, cli):
    """Evaluating the set with another --seed still scores on the frozen masks and images."""
    result = run(cli, tmp_path / "again", f"evalset:{frozen}", "99")
    assert result.returncode == 0, result.stderr
    again = files_under(tmp_path / "again" / "images")
    assert {k: v for k, v in again.items() if not k.startswith("pred/")} == files_under(frozen / "images")
    manifest = json.loads((frozen / "manifest.json").read_text())
    regimes = manifest["regimes"]
    expected = [
        ["mean_fill", regime, m["id"], m["hole_ratio"]]
        for regime in regimes
        for m in regimes[regime]["masks"]
    ]
    got = results(tmp_path / "again")
    assert [row[:3] for row in got] == [row[:3] for row in expected]
    np.testing.assert_allclose([float(r[4]) for r in got], [r[3] for r in expected])  # after the source
    assert {r[3] for r in got} == {"chelsea"}  # the frozen set keeps the photo each crop came from
    lama = build_registry().get("mask", "lama-thick")
    fresh = [draw_mask(lama, "lama-thick", 99, m["id"], 64).mean() for m in regimes["lama-thick"]["masks"]]
    assert fresh != [m["hole_ratio"] for m in regimes["lama-thick"]["masks"]]  # seed 99 would draw others


@pytest.mark.slow
def test_scores_match_the_direct_run(frozen, tmp_path, cli):
    """The samples dataset is 8-bit already, so scores on the set equal scores on the dataset."""
    if "l1_hole" not in build_registry().names("metric"):
        pytest.skip("the l1_hole metric is not registered in this tree")
    for name, dataset in (("set", f"evalset:{frozen}"), ("direct", "samples")):
        result = cli(
            "run", "--model", "mean_fill", "--masks", REGIMES, "--dataset", dataset, "--image-size", "64",
            "--seed", SEED, "--limit", "6", "--metrics", "l1_hole", "--out", str(tmp_path / name),
            "--no-progress",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
    assert (tmp_path / "set" / "results.csv").read_text() == (tmp_path / "direct" / "results.csv").read_text()


def copy_of(frozen: Path, copy: Path) -> dict:
    for rel in files_under(frozen):
        (copy / rel).parent.mkdir(parents=True, exist_ok=True)
        (copy / rel).write_bytes((frozen / rel).read_bytes())
    return json.loads((copy / "manifest.json").read_text())


def test_tampering_is_an_error_naming_the_file(frozen, tmp_path, cli):
    copy = tmp_path / "copy"
    manifest = copy_of(frozen, copy)
    mask_file = manifest["regimes"]["lama-thick"]["masks"][2]["file"]
    pixels = np.asarray(Image.open(copy / mask_file)).copy()
    pixels[0, 0] = 255 - pixels[0, 0]  # one pixel flipped
    Image.fromarray(pixels).save(copy / mask_file)
    result = run(cli, tmp_path / "tampered", f"evalset:{copy}", SEED)
    assert result.returncode == 2
    assert f"{mask_file} was modified (its sha256 differs from manifest.json)" in result.stderr
    assert not (tmp_path / "tampered").exists()  # refused before any work

    image_file = manifest["images"][0]["file"]
    (copy / image_file).unlink()
    with pytest.raises(InpaintbenchError, match=re.escape(f"{image_file} is missing (and 1 more files)")):
        build_registry().get("dataset", f"evalset:{copy}")


def test_evalset_refuses_other_regimes_and_sizes(frozen, tmp_path):
    registry = build_registry()
    dataset = registry.get("dataset", f"evalset:{frozen}")
    with pytest.raises(InpaintbenchError, match=re.escape(f"(it holds: {REGIMES.replace(',', ', ')})")):
        dataset.frozen_mask("freeform", "chelsea/r0c0")
    with pytest.raises(InpaintbenchError, match="was frozen at 64 px: run it with --image-size 64"):
        next(dataset.samples("test", 128))
    with pytest.raises(InpaintbenchError, match="only test images"):
        next(dataset.samples("train", 64))
    with pytest.raises(InpaintbenchError, match="no manifest.json"):
        registry.get("dataset", f"evalset:{tmp_path}")
    assert dataset.frozen_mask("nn:2", "chelsea/r0c0").mean() == 0.75


def test_freeze_refuses_a_used_folder(frozen, cli):
    result = cli(
        "freeze", "--dataset", "samples", "--masks", "center", "--image-size", "64", "--out", str(frozen)
    )
    assert result.returncode == 2
    assert "exists and is not an empty folder" in result.stderr


@pytest.mark.slow
def test_external_masks_are_frozen_and_no_longer_needed(tmp_path, cli):
    masks = tmp_path / "nvidia"
    masks.mkdir()
    for i in range(3):
        pixels = np.zeros((128, 128), np.uint8)
        pixels[: 20 * (i + 1), :64] = 255
        Image.fromarray(pixels).save(masks / f"{i:05d}.png")
    spec = f"folder:{masks}?threshold=0.5"
    out = tmp_path / "set"
    args = ["--dataset", "samples", "--masks", spec, "--image-size", "64", "--limit", "4"]
    result = cli("freeze", *args, "--out", str(out))
    assert result.returncode == 0, result.stderr
    for f in masks.iterdir():
        f.unlink()
    masks.rmdir()
    evaluated = run(cli, tmp_path / "run", f"evalset:{out}", "0", masks=spec)
    assert evaluated.returncode == 0, evaluated.stderr
    ratios = {float(r[4]) for r in results(tmp_path / "run")}
    assert ratios <= {10 / 64 * 0.5, 20 / 64 * 0.5, 30 / 64 * 0.5}
