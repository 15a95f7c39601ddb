"""The test images as a stream of batches, decoded and masked ahead of the model, in bounded memory.

The dataset's entries (``datasets/entries.py``) are cut into blocks of ``--batch-size`` in dataset order;
block ``b`` belongs to rank ``b % WORLD_SIZE`` (``shared/distributed.py``; a single process owns them all). A
lister thread walks the entries and hands this rank's blocks to a pool of loader threads, which decode,
resize, hash and mask each image (Pillow, numpy and zlib release the GIL, so they overlap the model).
At most ``DEPTH`` blocks are decoded or decoding ahead of the one being scored, so memory is bounded by
the batch size and the number of loaders, whatever the number of images.

The consumer (``Stream``) takes the blocks in order, records the inputs that could not be read, applies
``--limit`` (the first N usable images of the dataset: under torchrun the ranks share their counts once
per round of blocks) and checks the first masks of each regime for reproducibility.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...components import Dataset, MaskGenerator
from ...datasets.entries import Entry, entries
from ...errors import InpaintbenchError
from ...images import as_8bit
from ...masks.draw import ImageMasks, Masker, ReproducibilityCheck
from ..shared.distributed import World
from ..shared.threads import loader_threads

#: Blocks decoded ahead of the one being scored.
DEPTH = 2


@dataclass
class Item:
    """One entry of a block after its read: an image with its masks, or the error that skips it."""

    position: int
    entry: Entry
    image: np.ndarray | None = None
    masks: ImageMasks | None = None
    digest: str | None = None
    #: A lossless PNG of exactly these pixels, which the run folder may copy (``Loaded.source``).
    source: Path | None = None
    error: BaseException | None = None

    @property
    def image_id(self) -> str:
        return self.entry.image_id


@dataclass
class Chunk:
    """What one batch of this rank is made of: its usable images, and every entry it reached."""

    block: int
    items: list[Item]
    #: (position, image id, digest or None for a skipped input) of every entry up to the limit.
    reached: list[tuple[int, str, str | None]]

    @property
    def image_ids(self) -> list[str]:
        return [item.image_id for item in self.items]


def digest(image: np.ndarray) -> str:
    """sha256 of the float32 pixels: equal digests mean the same image."""
    return hashlib.sha256(np.ascontiguousarray(image, dtype=np.float32)).hexdigest()


class _End:
    """The lister found no more entries."""


class Source:
    """This rank's blocks, read ahead on background threads; ``next_block`` takes them in order."""

    def __init__(
        self,
        dataset: Dataset,
        generators: dict[str, MaskGenerator],
        size: int,
        seed: int,
        block_size: int,
        world: World,
        workers: int | None = None,
        eight_bit: bool = True,
    ) -> None:
        self.dataset = dataset
        #: Round each image to 8 bits as it is read, so the ground truth scored is the one saved.
        self.eight_bit = eight_bit
        self.generators = generators
        self.size = size
        self.seed = seed
        self.block_size = block_size
        self.world = world
        self.masker = Masker(dataset, generators, seed, size)
        self._pool = ThreadPoolExecutor(workers or loader_threads(), thread_name_prefix="inpaintbench-load")
        self._queue: queue.Queue[tuple[int, list[Future[Item]]] | _End | BaseException] = queue.Queue()
        self._room = threading.Semaphore(DEPTH)
        self._stop = threading.Event()
        self._ended = False
        self._lister = threading.Thread(target=self._list, name="inpaintbench-list", daemon=True)
        self._lister.start()

    # -- the lister thread ------------------------------------------------------------------------------
    def _list(self) -> None:
        try:
            block: list[tuple[int, Entry]] = []
            number = 0
            for position, entry in enumerate(entries(self.dataset, "test", self.size)):
                if self._stop.is_set():
                    return
                block.append((position, entry))
                if len(block) == self.block_size:
                    self._emit(number, block)
                    number, block = number + 1, []
            if block:
                self._emit(number, block)
            self._put(_End())
        except BaseException as exc:  # handed to the consumer, raised there with its traceback
            self._put(exc)

    def _emit(self, number: int, block: list[tuple[int, Entry]]) -> None:
        if not self.world.owns(number):
            return
        while not self._room.acquire(timeout=0.1):  # at most DEPTH blocks decoded or decoding ahead
            if self._stop.is_set():
                return
        self._put((number, [self._pool.submit(self._load, p, e) for p, e in block]))

    def _put(self, item: object) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)  # type: ignore[arg-type]
                return
            except queue.Full:
                continue

    # -- a loader thread --------------------------------------------------------------------------------
    def _load(self, position: int, entry: Entry) -> Item:
        item = Item(position, entry)
        try:
            loaded = entry.read()
        except InpaintbenchError:
            raise
        except Exception as exc:
            if entry.skip is None:
                raise
            item.error = exc
            return item
        image = np.ascontiguousarray(loaded.image, dtype=np.float32)
        expected = (self.size, self.size, 3)
        if image.shape != expected:
            raise InpaintbenchError(
                f"dataset '{self.dataset.spec}' gave image '{entry.image_id}' of shape {image.shape}, "
                f"expected {expected}"
            )
        if self.eight_bit:
            image = as_8bit(image)  # a no-op for 8-bit sources (every pixel is k / 255 already)
        item.image, item.digest, item.source = image, digest(image), loaded.source
        item.masks = self.masker.masks(entry.image_id, loaded.masks)
        return item

    # -- the consumer -----------------------------------------------------------------------------------
    def next_block(self) -> tuple[int, list[Item]] | None:
        """This rank's next block in order, every read finished; None after the last one."""
        if self._ended:
            return None
        got = self._queue.get()
        if isinstance(got, _End):
            self._ended = True
            return None
        if isinstance(got, BaseException):
            self._ended = True
            raise got
        number, futures = got
        self._room.release()
        return number, [f.result() for f in futures]

    def close(self) -> None:
        """Stop reading ahead; whatever is being decoded is dropped."""
        self._stop.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break


class Stream:
    """The chunks this rank scores, with ``--limit`` applied, skipped inputs recorded in order and the
    first masks checked."""

    def __init__(self, source: Source, limit: int | None, world: World) -> None:
        self.source = source
        self.limit = limit
        self.world = world
        self.check = ReproducibilityCheck(source.masker)
        #: Usable images met so far in the whole dataset (with ``--limit``: over every rank).
        self.total = 0
        self._last_round = False
        #: The highest position this rank reached, for the check that the dataset did not shrink.
        self.last_position = -1

    def next(self) -> Chunk | None:
        while True:
            if self._last_round:
                return None
            got = self.source.next_block()
            if self.limit is None:
                if got is None:
                    return None
                return self._chunk(*got, keep=None)
            number, items = got if got is not None else (-1, [])
            usable = sum(item.error is None for item in items)
            counts = self.world.gather((usable, got is not None))
            before = self.total + sum(count for count, _ in counts[: self.world.rank])
            self.total += sum(count for count, _ in counts)
            if self.total >= self.limit or not all(exists for _, exists in counts):
                self._last_round = True
            if got is not None:
                return self._chunk(number, items, keep=max(0, self.limit - before))

    def _chunk(self, number: int, items: list[Item], keep: int | None) -> Chunk:
        """The block's usable items (the first ``keep`` of them) and the entries reached up to there."""
        chosen: list[Item] = []
        reached: list[tuple[int, str, str | None]] = []
        for item in items:
            if keep is not None and len(chosen) >= keep:
                break
            reached.append((item.position, item.image_id, item.digest))
            self.last_position = max(self.last_position, item.position)
            if item.error is not None:
                assert item.entry.skip is not None
                item.entry.skip(item.error)
                continue
            assert item.masks is not None
            self.check.check(item.image_id, item.masks)
            chosen.append(item)
        return Chunk(number, chosen, reached)
