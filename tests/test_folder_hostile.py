"""Folder datasets with hostile contents: nothing is dropped without a reason, nothing hangs or blows up."""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from inpaintbench.datasets.folder import FolderDataset
from inpaintbench.images import MAX_ASPECT, MAX_PIXELS


def _photo(path, size=40, value=120):
    Image.fromarray(np.full((size, size, 3), value, np.uint8)).save(path)


def test_everything_left_out_is_recorded_with_its_reason(tmp_path):
    root = tmp_path / "data"
    (root / "sub").mkdir(parents=True)
    _photo(root / "a.png")
    _photo(root / "sub" / "b.png")
    _photo(root / ".hidden.png")
    (root / ".git").mkdir()
    _photo(root / ".git" / "c.png")
    os.mkfifo(root / "pipe.png")
    (root / "dangling.png").symlink_to(tmp_path / "nowhere.png")
    (root / "sub" / "loop").symlink_to(root, target_is_directory=True)
    dataset = FolderDataset(str(root))
    ids = [s.image_id for s in dataset.samples("test", 32)]
    assert ids == ["a.png", "sub/b.png"]
    reasons = {os.path.relpath(e["path"], root): e["reason"] for e in dataset.skipped}
    assert reasons[".hidden.png"].startswith("hidden file")
    assert reasons[".git"].startswith("hidden folder")
    assert reasons["pipe.png"] == "not a regular file"
    assert reasons["dangling.png"] == "broken symbolic link"
    assert "loop" in reasons["sub/loop"]


def test_a_decompression_bomb_is_skipped_before_decoding(tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    _photo(root / "fine.png")
    side = int(MAX_PIXELS**0.5) + 64
    Image.new("L", (side, side), 7).save(root / "bomb.png")  # a few hundred kB on disk
    assert (root / "bomb.png").stat().st_size < 2**20
    dataset = FolderDataset(str(root))
    assert [s.image_id for s in dataset.samples("test", 32)] == ["fine.png"]
    [entry] = dataset.skipped
    assert entry["path"].endswith("bomb.png") and "over the limit" in entry["reason"]


def test_a_strip_is_skipped_before_its_resize_costs_gigabytes(tmp_path):
    """1 x 150000 pixels is far under MAX_PIXELS, but its short side resized to 64 px would make it
    64 x 9.6 million: the aspect ratio is bounded as well as the pixel count."""
    root = tmp_path / "data"
    root.mkdir()
    _photo(root / "fine.png")
    Image.new("L", (150_000, 1), 7).save(root / "strip.png")
    Image.new("L", (1, 150_000), 7).save(root / "tower.png")
    Image.new("L", (40 * MAX_ASPECT, 40), 7).save(root / "wide.png")  # at the limit: read
    assert (root / "strip.png").stat().st_size < 2**10
    dataset = FolderDataset(str(root))
    assert [s.image_id for s in dataset.samples("test", 64)] == ["fine.png", "wide.png"]
    reasons = {os.path.basename(e["path"]): e["reason"] for e in dataset.skipped}
    assert set(reasons) == {"strip.png", "tower.png"}
    assert all(f"{MAX_ASPECT}:1" in reason for reason in reasons.values())
