"""Training images streamed from disk (``stream.py``): the image cache, decoding per sample, and the
in-memory split all give the same fingerprint, pixels and training bits; the cache is reused, replaced
when the data changes, and never needed for memory to stay flat as the training set grows."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from inpaintbench_context_encoder.data import load_training_images
from inpaintbench_context_encoder.stream import (
    CACHE_FOLDER,
    CachedImages,
    DecodedImages,
    open_training_images,
)
from inpaintbench_context_encoder.trainer import train
from PIL import Image

from inpaintbench import Dataset, InpaintbenchError, Sample, get_registry

CPU = torch.device("cpu")


def write_images(root: Path, n: int = 6, side: int = 150, seed: int = 0) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for k in range(n):
        pixels = rng.integers(0, 256, (side, side + 10 * k, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / f"{k}.png")
    return root


def folder_dataset(root: Path):
    return get_registry().get("dataset", f"folder:{root}")


class Squares(Dataset):
    """Decoded samples only (no ``lazy_samples``), as a plugin's dataset may be."""

    name = "squares"

    def __init__(self, n: int = 3, side: int | None = None) -> None:
        super().__init__()
        self.n, self.side = n, side

    def samples(self, split, image_size):
        rng = np.random.default_rng(1)
        for i in range(self.n):
            side = self.side or image_size
            yield Sample(f"sq{i}", rng.random((side, side, 3), dtype=np.float32))


def test_every_source_gives_the_same_fingerprint_and_pixels(tmp_path) -> None:
    root = write_images(tmp_path / "images")
    memory = load_training_images(folder_dataset(root), 140)
    cached = open_training_images(folder_dataset(root), 140, tmp_path / "home", "1")
    decoded = open_training_images(folder_dataset(root), 140, tmp_path / "home", "0")
    assert isinstance(cached.images, CachedImages) and isinstance(decoded.images, DecodedImages)
    assert memory.fingerprint == cached.fingerprint == decoded.fingerprint
    assert len(memory) == len(cached) == len(decoded) == 6
    for k in range(6):
        assert np.array_equal(memory.images[k], cached.images[k])
        assert np.array_equal(memory.images[k], decoded.images[k])
    assert cached.cache is not None and cached.cache.parent == tmp_path / "home" / CACHE_FOLDER


@pytest.mark.slow
def test_training_from_the_cache_the_files_or_memory_gives_the_same_bits(tiny_config, tmp_path) -> None:
    root = write_images(tmp_path / "images")
    cfg = tiny_config(batch_size=4, load_size=140, steps=2)
    sha = {}
    for name, choice in (("cache", "1"), ("files", "0")):
        data = open_training_images(folder_dataset(root), 140, tmp_path / "home", choice)
        sha[name] = train(cfg, data, tmp_path / name, CPU, progress=False).meta["weights_sha256"]
    memory = load_training_images(folder_dataset(root), 140)
    sha["memory"] = train(cfg, memory, tmp_path / "memory", CPU, progress=False).meta["weights_sha256"]
    assert sha["cache"] == sha["files"] == sha["memory"]


def test_the_cache_is_reused_and_replaced_when_the_images_change(tmp_path) -> None:
    root = write_images(tmp_path / "images")
    first = open_training_images(folder_dataset(root), 140, tmp_path, "1")
    stamp = first.cache.stat().st_mtime_ns
    again = open_training_images(folder_dataset(root), 140, tmp_path, "1")
    assert again.cache == first.cache and again.cache.stat().st_mtime_ns == stamp
    write_images(root, n=1, seed=9)  # 0.png rewritten
    changed = open_training_images(folder_dataset(root), 140, tmp_path, "1")
    assert changed.fingerprint != first.fingerprint and changed.cache != first.cache
    assert [p.name for p in (tmp_path / CACHE_FOLDER).iterdir()] == [changed.cache.name]


def test_an_unreadable_file_is_skipped_and_recorded(tmp_path) -> None:
    root = write_images(tmp_path / "images")
    (root / "2b.png").write_bytes(b"not a png")
    dataset = folder_dataset(root)
    streamed = open_training_images(dataset, 140, tmp_path, "0")
    assert len(streamed) == 6 and [Path(s["path"]).name for s in dataset.skipped] == ["2b.png"]
    assert streamed.fingerprint == load_training_images(folder_dataset(root), 140).fingerprint
    assert [e.image_id for e in streamed.images.entries] == [f"{k}.png" for k in range(6)]


def test_a_dataset_without_lazy_samples_is_cached_or_held(tmp_path) -> None:
    """``auto`` caches it (the other way is memory); ``image_cache=0`` holds it as before."""
    auto = open_training_images(Squares(), 130, tmp_path, "auto")
    held = open_training_images(Squares(), 130, tmp_path, "0")
    assert isinstance(auto.images, CachedImages) and isinstance(held.images, list)
    assert auto.fingerprint == held.fingerprint == load_training_images(Squares(), 130).fingerprint
    assert np.array_equal(auto.images[2], held.images[2])


def test_the_cache_needs_squares_of_the_load_size(tmp_path) -> None:
    with pytest.raises(InpaintbenchError, match="image_cache=0"):
        open_training_images(Squares(side=150), 130, tmp_path, "1")
    assert len(open_training_images(Squares(side=150), 130, tmp_path, "0")) == 3
    with pytest.raises(InpaintbenchError, match="image_cache='maybe'"):
        open_training_images(Squares(), 130, tmp_path, "maybe")


PEAK = """
import resource, sys
from functools import partial
import numpy as np, torch
from inpaintbench import Dataset
from inpaintbench.datasets.entries import Entry, Loaded
from inpaintbench_context_encoder.config import TrainConfig
from inpaintbench_context_encoder.stream import open_training_images
from inpaintbench_context_encoder.trainer import train

class Many(Dataset):
    name = "many"
    def __init__(self, n):
        super().__init__()
        self.n = n
    def lazy_samples(self, split, size):
        for i in range(self.n):
            yield Entry(f"img{i}", partial(self.read, i, size))
    def read(self, i, size):
        return Loaded(np.random.default_rng(i).random((size, size, 3), dtype=np.float32))
    def samples(self, split, size):
        raise AssertionError("the trainer decoded the split through samples()")

n, choice, home = int(sys.argv[1]), sys.argv[2], sys.argv[3]
torch.set_num_threads(1)
data = open_training_images(Many(n), 256, home, choice)
cfg = TrainConfig(bottleneck=8, batch_size=4, load_size=256, steps=2, precision="fp32")
train(cfg, data, __import__("pathlib").Path(home) / "ckpt", torch.device("cpu"), progress=False)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


@pytest.mark.slow
@pytest.mark.parametrize("choice", ["0", "1"])
def test_peak_memory_does_not_grow_with_the_training_set(tmp_path, choice) -> None:
    """Peak RSS of reading and hashing the split and training two steps, with 16 and with 800 images
    of 256 px (the in-memory split would hold 155 MB more as 8 bits): within 60 MB of each other."""
    peaks = []
    for n in (16, 800):
        home = tmp_path / f"{n}"
        done = subprocess.run([sys.executable, "-c", PEAK, str(n), choice, str(home)], capture_output=True,
                              text=True, timeout=600)  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        peaks.append(int(done.stdout.split()[-1]))
    assert peaks[1] - peaks[0] < 60, peaks
