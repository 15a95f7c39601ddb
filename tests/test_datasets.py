"""Built-in datasets: the embedded scikit-image crops and a folder of real, partly broken files."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

from inpaintbench.datasets.folder import FolderDataset
from inpaintbench.datasets.samples import SamplesDataset
from inpaintbench.errors import InpaintbenchError
from inpaintbench.plugins import build_registry

SIZE = 128


def load(dataset, split: str = "test", size: int = SIZE) -> dict[str, np.ndarray]:
    return {s.image_id: s.image for s in dataset.samples(split, size)}


def test_registered_under_their_names(tmp_path):
    registry = build_registry()
    assert type(registry.get("dataset", "samples")) is SamplesDataset
    Image.fromarray(data.chelsea()).save(tmp_path / "cat.png")
    folder = registry.get("dataset", f"folder:{tmp_path}")
    assert type(folder) is FolderDataset and folder.root == tmp_path


# --- samples ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def splits() -> dict[str, dict[str, np.ndarray]]:
    return {split: load(SamplesDataset(), split) for split in ("train", "test")}


def test_samples_sizes_and_counts(splits):
    assert len(splits["test"]) == 64 and len(splits["train"]) == 301
    for images in splits.values():
        for image_id, image in images.items():
            assert re.fullmatch(r"[a-z_]+/r\d+c\d+", image_id)
            assert image.shape == (SIZE, SIZE, 3) and image.dtype == np.float32
            assert image.min() >= 0.0 and image.max() <= 1.0


def test_samples_split_by_photo(splits):
    photos = {split: {i.split("/")[0] for i in images} for split, images in splits.items()}
    assert photos["test"] == {"chelsea", "coffee", "immunohistochemistry", "china", "flower"}
    assert photos["test"].isdisjoint(photos["train"])
    dataset = SamplesDataset()
    assert {dataset.source_of(i) for i in splits["test"]} == photos["test"]  # each crop names its photo
    colour = {"astronaut", "rocket", "hubble_deep_field", "retina", "stereo_motorcycle"}
    assert photos["train"] == colour | {"camera", "brick", "grass", "gravel", "moon", "coins", "clock"}


def test_samples_deterministic(splits):
    again = load(SamplesDataset(), "test")
    assert list(again) == list(splits["test"])
    assert all(np.array_equal(again[k], splits["test"][k]) for k in again)


def test_samples_crops_are_the_photo_pixels(splits):
    """chelsea is 300 x 451: a 2 x 3 grid of 128 crops centred at row 22, column 33."""
    cat = data.chelsea().astype(np.float32) / 255
    assert np.array_equal(splits["test"]["chelsea/r0c0"], cat[22:150, 33:161])
    assert np.array_equal(splits["test"]["chelsea/r1c2"], cat[150:278, 289:417])


def test_samples_small_photos_are_upsized_first():
    images = load(SamplesDataset(), "test", size=320)  # chelsea's short side is 300
    assert images["chelsea/r0c0"].shape == (320, 320, 3)
    assert {i.split("/")[0] for i in images} == {
        "chelsea",
        "coffee",
        "immunohistochemistry",
        "china",
        "flower",
    }


def test_samples_unknown_split():
    with pytest.raises(InpaintbenchError, match="'val'"):
        next(SamplesDataset().samples("val", SIZE))


# --- folder ----------------------------------------------------------------------------------


def png_bytes_truncated(path: Path) -> bytes:
    Image.fromarray(data.astronaut()).save(path)
    return path.read_bytes()[:2000]


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real photos in nested folders, every awkward mode, one broken file and one non-image."""
    tmp_path = tmp_path_factory.mktemp("tree")
    astronaut = data.astronaut()
    (tmp_path / "photos" / "deep").mkdir(parents=True)
    Image.fromarray(astronaut).save(tmp_path / "photos" / "astronaut.png")
    Image.fromarray(data.coffee()).save(tmp_path / "photos" / "deep" / "coffee.jpg", quality=95)
    Image.fromarray(data.camera()).save(tmp_path / "grey.png")
    rgba = np.dstack([data.chelsea(), np.tile(np.linspace(0, 255, 451, dtype=np.uint8), (300, 1))])
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    Image.fromarray(astronaut[:SIZE, :SIZE]).quantize(64).save(tmp_path / "palette.png")
    ramp = (np.arange(SIZE * SIZE, dtype=np.uint32).reshape(SIZE, SIZE) * 3).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "grey16.png")
    Image.fromarray(astronaut[100 : 100 + SIZE, 200 : 200 + SIZE]).save(tmp_path / "exact.png")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "corrupt.png").write_bytes(png_bytes_truncated(tmp_path / "tmp.png"))
    (tmp_path / "tmp.png").unlink()
    (tmp_path / "notes.txt").write_text("not an image\n")
    (tmp_path / ".DS_Store").write_bytes(b"\0\1junk")
    return tmp_path


def test_folder_loads_good_files_and_lists_bad_ones(tree, capsys):
    dataset = FolderDataset(str(tree))
    images = load(dataset)
    assert list(images) == [
        "exact.png",
        "grey.png",
        "grey16.png",
        "palette.png",
        "photos/astronaut.png",
        "photos/deep/coffee.jpg",
        "rgba.png",
    ]
    for image in images.values():
        assert image.shape == (SIZE, SIZE, 3) and image.dtype == np.float32
        assert image.min() >= 0.0 and image.max() <= 1.0
    skipped = {Path(s["path"]).name: s["reason"] for s in dataset.skipped}
    assert set(skipped) == {"corrupt.png", "notes.txt", ".DS_Store"}  # hidden files too, with the reason
    assert "truncated" in skipped["corrupt.png"] and "UnidentifiedImageError" in skipped["notes.txt"]
    err = capsys.readouterr().err
    assert "corrupt.png" in err and "notes.txt" in err


def test_folder_same_images_every_split_and_skips_listed_once(tree):
    dataset = FolderDataset(str(tree))
    assert not dataset.has_splits
    train, test = load(dataset, "train"), load(dataset, "test")
    assert list(train) == list(test)
    assert all(np.array_equal(train[k], test[k]) for k in train)
    assert len(dataset.skipped) == 3


def test_folder_image_at_size_is_not_resampled(tree):
    images = load(FolderDataset(str(tree)))
    expected = data.astronaut()[100 : 100 + SIZE, 200 : 200 + SIZE].astype(np.float32) / 255
    assert np.array_equal(images["exact.png"], expected)
    palette = np.asarray(Image.open(tree / "palette.png").convert("RGB"), np.float32) / 255
    assert np.array_equal(images["palette.png"], palette)


def bicubic(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """LaMa's reference preprocessing step: Pillow bicubic on the 8-bit image."""
    resized = Image.fromarray(image).resize((width, height), Image.Resampling.BICUBIC)
    return np.asarray(resized, np.float32) / 255


def test_folder_resize_is_pillow_bicubic(tree):
    image = load(FolderDataset(str(tree)))["photos/astronaut.png"]
    assert np.array_equal(image, bicubic(data.astronaut(), SIZE, SIZE))


def test_folder_short_side_then_centre_crop(tree):
    """coffee is 400 x 600: short side to 128 gives 128 x 192, the crop starts at column 32."""
    images = load(FolderDataset(str(tree)))
    decoded = np.asarray(Image.open(tree / "photos" / "deep" / "coffee.jpg"))
    assert np.array_equal(images["photos/deep/coffee.jpg"], bicubic(decoded, 192, SIZE)[:, 32 : 32 + SIZE])
    # chelsea (300 x 451, alpha dropped): 128 x 192 after the resize, crop from column 32 as well
    assert np.array_equal(images["rgba.png"], bicubic(data.chelsea(), 192, SIZE)[:, 32 : 32 + SIZE])


def test_folder_greyscale_becomes_three_equal_channels(tree):
    grey = load(FolderDataset(str(tree)))["grey.png"]
    expected = bicubic(data.camera(), SIZE, SIZE)
    assert all(np.array_equal(grey[..., c], expected) for c in range(3))


def test_folder_16_bit_keeps_precision(tree):
    image = load(FolderDataset(str(tree)))["grey16.png"][..., 0]
    ramp = (np.arange(SIZE * SIZE, dtype=np.uint32).reshape(SIZE, SIZE) * 3).astype(np.uint16)
    assert np.array_equal(image, ramp.astype(np.float32) / 65535)
    assert len(np.unique(image)) == SIZE * SIZE  # far more levels than 8 bits could hold


def test_folder_16_bit_resized_in_float(tmp_path):
    """A 200 x 300 horizontal 16-bit ramp, resized to 128 x 192 and cropped at column 32.

    Bicubic reproduces a linear ramp exactly away from the borders, so the result must match the
    analytic ramp 20 times more closely than 8-bit quantisation (1/510) would allow.
    """
    Image.fromarray(np.tile(np.arange(300, dtype=np.uint16) * 200, (200, 1))).save(tmp_path / "wide16.png")
    image = load(FolderDataset(str(tmp_path)))["wide16.png"][..., 0]
    source_x = (np.arange(32, 32 + SIZE) + 0.5) * 300 / 192 - 0.5
    assert np.abs(image[:, 8:-8] - source_x[8:-8] * 200 / 65535).max() < 1e-4  # ~7 16-bit levels


def test_folder_errors(tmp_path):
    with pytest.raises(InpaintbenchError, match="needs a path"):
        FolderDataset(None)
    missing = tmp_path / "nope"
    with pytest.raises(InpaintbenchError, match=re.escape(str(missing))):
        FolderDataset(str(missing))
    (tmp_path / "readme.txt").write_text("no images here")
    dataset = FolderDataset(str(tmp_path))
    with pytest.raises(InpaintbenchError, match="no readable images"):
        load(dataset)
    assert [Path(s["path"]).name for s in dataset.skipped] == ["readme.txt"]
