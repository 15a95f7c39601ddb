"""Dataset recipes: the committed lists, ``datasets check`` on fake trees of real photos laid out as the
real datasets are, and the recipes' preprocessing. Reduced recipes (``INPAINTBENCH_RECIPES``) stand in
for the full counts where a complete copy is needed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

from inpaintbench.datasets.check import check_dataset
from inpaintbench.datasets.recipes import ENV_VAR, Recipe
from inpaintbench.errors import InpaintbenchError
from inpaintbench.plugins import build_registry

REPO_RECIPES = Path(__file__).resolve().parents[1] / "datasets"


def photo(size: tuple[int, int], offset: int = 0) -> Image.Image:
    """A real photo (scikit-image's astronaut, coffee or chelsea) cut to width x height."""
    source = (data.astronaut, data.coffee, data.chelsea)[offset % 3]()
    width, height = size
    return Image.fromarray(source).resize((max(width, 300), max(height, 300))).crop((0, 0, width, height))


def reduced(
    tmp_path: Path, name: str, counts: dict[str, int] = None, lists: dict[str, list[str]] = None
) -> Path:
    """A copy of the committed recipe with smaller counts or lists, in a recipes folder of its own."""
    doc = json.loads((REPO_RECIPES / name / "recipe.json").read_text())
    folder = tmp_path / "recipes" / name
    folder.mkdir(parents=True)
    for split, count in (counts or {}).items():
        doc["splits"][split]["count"] = count
    for split, names in (lists or {}).items():
        (folder / f"{split}.txt").write_text("".join(f"{n}\n" for n in names))
        doc["splits"][split]["list"] = f"{split}.txt"
    (folder / "recipe.json").write_text(json.dumps(doc))
    return folder.parent


@pytest.fixture
def paris(tmp_path):
    """A Paris StreetView tree with the real names of the first three test images and two training images."""
    root = tmp_path / "paris"
    (root / "paris_eval_gt").mkdir(parents=True)
    (root / "paris_train_original").mkdir()
    for i in range(1, 4):
        photo((227, 227), i).save(root / "paris_eval_gt" / f"{i:03d}_im.png")
    for i, name in enumerate(["48.842502_2.344968_90_-004.JPG", "48.860000_2.350000_180_-004.JPG"]):
        photo((936, 537), i).save(root / "paris_train_original" / name, quality=92)
    return root


def test_committed_lists_follow_the_known_naming_schemes():
    paris = Recipe.load("paris_streetview")
    assert paris.splits["test"].names == tuple(f"{i:03d}_im.png" for i in range(1, 101))
    assert (paris.splits["train"].names, paris.splits["train"].count) == (None, 14900)
    places = Recipe.load("places365").splits["test"]
    assert places.names == tuple(f"Places365_val_{i:08d}.jpg" for i in range(1, 36501))
    celeba = Recipe.load("celeba_hq")
    assert {k: (s.names, s.count) for k, s in celeba.splits.items()} == {
        "train": (None, 26000),
        "val": (None, 2000),
        "test": (None, 2000),
    }
    rule = celeba.splits["test"]
    assert all(rule.follows_rule(n) for n in ("0.jpg", "9.jpg", "12345.jpg", "29999.jpg"))
    assert not any(rule.follows_rule(n) for n in ("30000.jpg", "00001.jpg", "-1.jpg", "1.png", "1.jpg.bak"))


def test_every_recipe_has_a_readme_with_its_counts():
    for name, counts in {
        "paris_streetview": ["14,900", "100"],
        "celeba_hq": ["26,000", "2,000"],
        "places365": ["36,500"],
    }.items():
        readme = (REPO_RECIPES / name / "README.md").read_text()
        assert all(c in readme for c in counts), name
        assert re.search(r"licen[cs]e", readme, re.IGNORECASE), name


def test_check_reports_missing_files_against_the_full_recipe(paris, cli):
    report = check_dataset("paris_streetview", paris, progress=False)
    assert not report.complete
    assert (
        "test (paris_eval_gt/): 97 of 100 listed images missing: 004_im.png, 005_im.png, 006_im.png"
        in report.format()
    )
    assert "train (paris_train_original/): 2 images, expected 14,900" in report.format()
    result = cli("datasets", "check", "paris_streetview", str(paris), "--no-progress")
    assert result.returncode == 1
    assert "incomplete: 2 problems" in result.stdout


def test_check_passes_a_complete_copy_and_names_each_problem(paris, tmp_path, cli):
    recipes = reduced(
        tmp_path,
        "paris_streetview",
        counts={"train": 2},
        lists={"test": ["001_im.png", "002_im.png", "003_im.png"]},
    )
    env = {ENV_VAR: str(recipes)}
    result = cli("datasets", "check", "paris_streetview", str(paris), "--no-progress", **env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.rstrip().endswith("complete")
    assert "test (paris_eval_gt/): 3 of 3 images, all readable" in result.stdout

    (paris / "paris_eval_gt" / "002_im.png").unlink()
    (paris / "paris_eval_gt" / "notes.txt").write_text("an extra file")
    train = paris / "paris_train_original" / "48.842502_2.344968_90_-004.JPG"
    train.write_bytes(train.read_bytes()[:3000])  # a truncated JPEG
    result = cli("datasets", "check", "paris_streetview", str(paris), "--no-progress", **env)
    assert result.returncode == 1
    assert "1 of 3 listed images missing: 002_im.png" in result.stdout
    assert "1 files not in the list: notes.txt" in result.stdout
    assert re.search(
        r"1 unreadable images: 48\.842502_2\.344968_90_-004\.JPG \(OSError: .*truncated", result.stdout
    )
    assert "incomplete: 3 problems" in result.stdout


def test_check_celeba_rules_and_disjoint_splits(tmp_path):
    root = tmp_path / "celeba-hq-dataset"
    layout = {
        "train_256": ["0.jpg", "1.jpg", "2.jpg"],
        "val_source_256": ["3.jpg"],
        "visual_test_source_256": ["4.jpg"],
    }
    for folder, names in layout.items():
        (root / folder).mkdir(parents=True)
        for i, name in enumerate(names):
            photo((256, 256), i).save(root / folder / name)
    recipes = reduced(tmp_path, "celeba_hq", counts={"train": 3, "val": 1, "test": 1})
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(ENV_VAR, str(recipes))
        assert check_dataset("celeba_hq", root, progress=False).complete
        photo((256, 256)).save(root / "visual_test_source_256" / "1.jpg")  # also in train
        photo((256, 256)).save(root / "visual_test_source_256" / "00007.jpg")  # not LaMa's naming
        text = check_dataset("celeba_hq", root, progress=False).format()
    assert "1 files do not follow the rule (N.jpg with N in 0..29999" in text and "00007.jpg" in text
    assert "test (visual_test_source_256/): 2 images, expected 1" in text
    assert "1.jpg is in both train and test" in text


def test_check_missing_folder_and_unknown_recipe(tmp_path, cli):
    report = check_dataset("places365", tmp_path / "absent", progress=False)
    assert report.problems == [f"{tmp_path / 'absent'} does not exist or is not a folder"]
    (tmp_path / "celeba").mkdir()
    text = check_dataset("celeba_hq", tmp_path / "celeba", progress=False).format()
    assert "train: no folder train_256 or train_source_256 under" in text
    result = cli("datasets", "check", "imagenet", str(tmp_path))
    assert result.returncode == 2
    assert (
        "no dataset recipe 'imagenet'" in result.stderr
        and "celeba_hq, paris_streetview, places365" in result.stderr
    )


def test_paris_preprocessing_is_the_context_encoders(paris, tmp_path, monkeypatch):
    monkeypatch.setenv(
        ENV_VAR, str(reduced(tmp_path, "paris_streetview", lists={"test": ["001_im.png", "002_im.png"]}))
    )
    dataset = build_registry().get("dataset", f"paris_streetview:{paris}")
    test = list(dataset.samples("test", 128))
    assert [s.image_id for s in test] == ["001_im.png", "002_im.png"]
    with Image.open(paris / "paris_eval_gt" / "001_im.png") as im:
        expected = (
            np.asarray(im.convert("RGB").resize((128, 128), Image.Resampling.BICUBIC), np.float32) / 255
        )
    np.testing.assert_allclose(test[0].image, expected, atol=1e-6)

    train = {s.image_id: s.image for s in dataset.samples("train", 128)}
    with Image.open(paris / "paris_train_original" / "48.842502_2.344968_90_-004.JPG") as im:
        loaded = im.convert("RGB").resize(
            (610, 350), Image.Resampling.BICUBIC
        )  # 936 x 537, short side to 350
        expected = np.asarray(loaded.crop((241, 111, 369, 239)), np.float32) / 255
    np.testing.assert_allclose(train["48.842502_2.344968_90_-004.JPG"], expected, atol=1e-6)
    assert dataset.source_path("001_im.png") == paris / "paris_eval_gt" / "001_im.png"


def test_recipe_dataset_errors(paris, tmp_path):
    registry = build_registry()
    with pytest.raises(InpaintbenchError, match="needs a path: celeba_hq:PATH"):
        registry.get("dataset", "celeba_hq")
    with pytest.raises(InpaintbenchError, match="has the splits test; not 'train'"):
        next(registry.get("dataset", f"places365:{paris}").samples("train", 64))
    with pytest.raises(InpaintbenchError, match="datasets check celeba_hq"):
        next(registry.get("dataset", f"celeba_hq:{paris}").samples("test", 64))


def test_places_reads_val_large_first_or_the_folder_itself(tmp_path, monkeypatch):
    names = ["Places365_val_00000001.jpg", "Places365_val_00000002.jpg"]
    monkeypatch.setenv(ENV_VAR, str(reduced(tmp_path, "places365", lists={"test": names})))
    root = tmp_path / "places"
    (root / "val_256").mkdir(parents=True)
    for i, name in enumerate(names):
        photo((256, 256), i).save(root / "val_256" / name)
    assert check_dataset("places365", root, progress=False).complete
    assert check_dataset("places365", root / "val_256", progress=False).complete
    (root / "val_large").mkdir()
    photo((683, 512)).save(root / "val_large" / names[0])
    dataset = build_registry().get("dataset", f"places365:{root}")
    samples = list(dataset.samples("test", 64))  # val_large is preferred; its second image is missing
    assert [s.image_id for s in samples] == names[:1]
    assert dataset.skipped[0]["path"].endswith("val_large/Places365_val_00000002.jpg")


def test_run_on_a_recipe_through_the_cli(paris, tmp_path, cli):
    env = {ENV_VAR: str(reduced(tmp_path, "paris_streetview", lists={"test": ["001_im.png", "003_im.png"]}))}
    out = tmp_path / "run"
    result = cli(
        "run", "--model", "mean_fill", "--masks", "center", "--dataset", f"paris_streetview:{paris}",
        "--metrics", "psnr", "--out", str(out), "--no-progress", **env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = (out / "results.csv").read_text().splitlines()
    assert [r.split(",")[2:5] for r in rows[1:]] == [
        ["001_im.png", "001_im.png", "0.25"],
        ["003_im.png", "003_im.png", "0.25"],
    ]  # image, its source (itself), hole ratio
