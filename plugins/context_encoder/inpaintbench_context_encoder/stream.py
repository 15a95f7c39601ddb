"""Training images read from disk as training draws them, never the whole split in memory.

``open_training_images`` lists the training split (ids and readers, nothing decoded: a dataset's
``lazy_samples``), then reads every image once, in order, in DataLoader workers: that pass checks each
image, computes the data fingerprint and, with the image cache, writes the decoded pixels to disk. The
fingerprint is what ``data.load_training_images`` computes in memory, sha256 over ("train|SIZE", then
each image's id and uint8 pixels in order), so it names the content whatever reads it, wherever the
dataset lives; it costs one decode of every image per training start (the price of not trusting file
dates: a file rewritten in place with its old size and mtime still changes the fingerprint).

Training then crops from one of two sources, which give the same pixels, so the same samples and bits:

- ``CachedImages``: the image cache, one uint8 file of N x S x S x 3 per (dataset, load size, content)
  under ``$INPAINTBENCH_HOME/context_encoder-images``, memory-mapped read-only: a 128 px crop reads
  only its rows, and the OS page cache, not the process, holds what is hot.
- ``DecodedImages``: each sample decodes its image again (in the loader workers on CUDA).

The cache is written to a temporary name and moved into place; a file of the same content already
there is kept (its name carries the fingerprint) and older files of the same dataset and size are
deleted. Under torchrun rank 0 does the pass and the others wait, then open the same cache file, so the
cache folder must be one every rank sees (or the cache off: ``image_cache=0``).

A dataset without ``lazy_samples`` (a plugin's, or ``samples``) yields decoded images only in order:
its pass writes the cache, and with ``image_cache=0`` its images are held in memory as before.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch
from torch.utils.data import DataLoader

from inpaintbench import Dataset, InpaintbenchError, TrainSplit

from .config import CACHE_CHOICES
from .data import TrainingImages, check_pixels, load_training_images, to_uint8
from .distributed import Ranks

CACHE_FOLDER = "context_encoder-images"
#: ``image_cache=auto`` caches when the file takes at most this share of the free disk space.
AUTO_SHARE = 0.5


class CachedImages:
    """The image cache as a sequence of S x S x 3 uint8 arrays, memory-mapped on first access in each
    process (a pickled copy, for a spawned loader worker, carries the path, never the pixels)."""

    def __init__(self, path: Path, count: int, size: int) -> None:
        self.path, self.count, self.size = path, count, size
        self._array: np.ndarray | None = None

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> np.ndarray:
        if self._array is None:
            self._array = np.memmap(self.path, np.uint8, "r", shape=(self.count, self.size, self.size, 3))
        return self._array[index]

    def __getstate__(self) -> dict[str, Any]:
        return self.__dict__ | {"_array": None}


class DecodedImages:
    """The listed images as a sequence, each decoded (uint8) when a sample draws it."""

    decodes = True  #: what ``data.loader_workers`` asks: every sample costs a decode

    def __init__(self, entries: list[Any]) -> None:
        self.entries = entries

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, index: int) -> np.ndarray:
        return to_uint8(self.entries[index].read().image)


class _Reads(torch.utils.data.Dataset):
    """Entry ``index`` decoded to uint8 (a tensor, which reaches the main process through shared memory),
    or the exception its reader raised (the main process decides: skip the input or stop)."""

    def __init__(self, entries: list[Any]) -> None:
        self.entries = entries

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, index: int) -> tuple[torch.Tensor | None, BaseException | None]:
        try:
            return torch.from_numpy(to_uint8(self.entries[index].read().image)), None
        except Exception as exc:
            return None, exc


def _as_is(item: Any) -> Any:
    return item


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def listed(split: TrainSplit | Dataset, size: int) -> list[Any] | None:
    """The split's entries (``lazy_samples``: id and reader, nothing decoded), or None for a dataset
    without them (a ``TrainSplit`` checks the split as its ``samples`` does)."""
    lazy = getattr(split, "lazy_samples", None)
    found = lazy("train", size) if callable(lazy) else None
    return None if found is None else list(found)


def use_cache(choice: str, entries: list[Any] | None, size: int, folder: Path) -> bool:
    """``image_cache``: ``1`` or ``0``, or ``auto``: on for a dataset without ``lazy_samples`` (the other
    way holds it in memory) and for one whose cache takes at most half the free disk space."""
    if choice != "auto" or entries is None:
        return choice != "0"
    folder.mkdir(parents=True, exist_ok=True)
    return len(entries) * size * size * 3 <= AUTO_SHARE * shutil.disk_usage(folder).free


def open_training_images(
    split: TrainSplit | Dataset, size: int, cache_dir: Path, choice: str = "auto", ranks: Ranks | None = None
) -> TrainingImages:
    """The training split at ``size`` px as ``TrainingImages`` backed by the image cache or by the files
    (see the module docstring); under torchrun every rank calls it and gets the same images."""
    if choice not in CACHE_CHOICES:
        raise InpaintbenchError(f"option image_cache='{choice}' must be one of {', '.join(CACHE_CHOICES)}")
    ranks = ranks or Ranks()
    entries = listed(split, size)
    folder = Path(cache_dir) / CACHE_FOLDER
    cached = ranks.share(use_cache(choice, entries, size, folder) if ranks.leader else None)
    if entries is not None:
        ranks.agree("the training images listed", _ids_digest(entries))
    elif not cached:  # only decoded samples and no cache: every rank holds the images, as before
        data = load_training_images(split, size)
        ranks.agree("the training data fingerprint", data.fingerprint)
        return data
    stem = f"{hashlib.sha256(split.spec.encode()).hexdigest()[:8]}-{size}px"
    fingerprint, skipped, count = ranks.by_leader(
        lambda: _scan(split, size, entries, folder / stem if cached else None)
    )
    if cached:
        path = folder / f"{stem}-{fingerprint[:16]}.u8"
        if not path.is_file() or path.stat().st_size != count * size * size * 3:
            raise InpaintbenchError(
                f"rank {ranks.rank} does not see the image cache {path} rank 0 wrote: under torchrun on "
                "several machines INPAINTBENCH_HOME must be a shared folder, or pass --option image_cache=0"
            )
        return TrainingImages(CachedImages(path, count, size), fingerprint, path)
    assert entries is not None
    gone = set(skipped)
    return TrainingImages(DecodedImages([e for i, e in enumerate(entries) if i not in gone]), fingerprint)


def _ids_digest(entries: list[Any]) -> str:
    digest = hashlib.sha256()
    for entry in entries:
        digest.update(entry.image_id.encode() + b"\0")
    return digest.hexdigest()


def _scan(
    split: TrainSplit | Dataset, size: int, entries: list[Any] | None, stem: Path | None
) -> tuple[str, list[int], int]:
    """Read every image once, in order: check it, hash it, and with ``stem`` write it to the cache file
    ``STEM-FINGERPRINT.u8``. Returns (fingerprint, indices of the entries skipped, images kept)."""
    digest = hashlib.sha256(f"train|{size}".encode())
    skipped: list[int] = []
    count = 0
    tmp = None if stem is None else stem.with_name(f".{stem.name}.tmp-{os.getpid()}")
    if tmp is not None:
        tmp.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(tmp, "wb") if tmp is not None else nullcontext() as fh:
            for image_id, pixels in _decoded(split, size, entries, skipped):
                check_pixels(image_id, pixels, split.spec, size if fh is not None else None)
                digest.update(image_id.encode() + b"\0" + pixels.tobytes())
                if fh is not None:
                    _write(fh, pixels, tmp)
                count += 1
        if count == 0:
            raise InpaintbenchError(f"dataset '{split.spec}' has no training images (split 'train' is empty)")
        fingerprint = digest.hexdigest()
        if stem is not None and tmp is not None:
            _keep(tmp, stem, fingerprint, count * size * size * 3)
            tmp = None
        return fingerprint, skipped, count
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def _decoded(
    split: TrainSplit | Dataset, size: int, entries: list[Any] | None, skipped: list[int]
) -> Iterator[tuple[str, np.ndarray]]:
    """(id, uint8 pixels) of every readable image in order: listed entries decoded by loader workers
    (all the cores: nothing else runs yet), inputs that fail skipped and recorded by their dataset;
    else the dataset's own decoded samples."""
    if entries is None:
        for sample in split.samples("train", size):
            yield sample.image_id, to_uint8(sample.image)
        return
    workers = min(16, cpu_count(), len(entries) // 32)
    loader = DataLoader(_Reads(entries), batch_size=None, num_workers=workers, collate_fn=_as_is)
    for index, (pixels, problem) in enumerate(loader):
        if problem is not None:
            if isinstance(problem, InpaintbenchError) or entries[index].skip is None:
                raise problem  # the user's to fix, or the dataset's bug: not one bad file
            entries[index].skip(problem)
            skipped.append(index)
            continue
        assert pixels is not None
        yield entries[index].image_id, pixels.numpy()


def _write(fh: BinaryIO, pixels: np.ndarray, path: Path) -> None:
    try:
        fh.write(memoryview(np.ascontiguousarray(pixels)))
    except OSError as exc:
        raise InpaintbenchError(
            f"cannot write the training image cache {path} ({exc.strerror}): free space there, point "
            "INPAINTBENCH_HOME elsewhere, or pass --option image_cache=0 (decode every sample instead)"
        ) from None


def _keep(tmp: Path, stem: Path, fingerprint: str, expected: int) -> None:
    """Move the finished cache into place as ``STEM-FINGERPRINT.u8`` (a complete file of that content
    already there stays: a reader may have it mapped) and delete older caches of the same stem."""
    final = stem.with_name(f"{stem.name}-{fingerprint[:16]}.u8")
    if final.is_file() and final.stat().st_size == expected:
        tmp.unlink()
    else:
        os.replace(tmp, final)
    for old in stem.parent.glob(f"{stem.name}-*.u8"):
        if old != final:
            old.unlink(missing_ok=True)
