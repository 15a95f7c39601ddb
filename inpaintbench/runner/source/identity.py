"""Is this the data the folder's rows were computed on? Checked image by image, as the stream goes.

The settings a run depends on (``plan.IDENTITY_KEYS``) are claimed once, when the folder is opened. The
data cannot be: reading every image first to fingerprint it would hold the whole dataset (or read it
twice). Instead the store lists every input the stream met (position, id, sha256 of its pixels, or
None for an input that was skipped), and a resumed run compares each input with that list before it
commits a row for it, so rows from two datasets are never mixed: a changed or replaced image, one that no
longer reads (or now does), and, once a run has met the whole stream, a dataset that grew or shrank. The
dataset's fingerprint in run.json is built from the same list.

Stores written before this list existed carry a fingerprint over every image's pixels in their identity;
such a folder is checked once against it, reading the dataset a first time, and then listed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ...errors import InpaintbenchError
from .stream import Chunk

if TYPE_CHECKING:
    from ..store.results import ResultStore

#: The store's meta key holding how many inputs the stream has, once a run has met all of them.
LISTING_END = "listing_end"


class ChangedDataset(InpaintbenchError):
    """The dataset is not the one the folder's rows were computed on."""

    def __init__(self, out: Path, what: str) -> None:
        super().__init__(
            f"{out} holds a run on other data: {what}; use another --out, or the same dataset to resume"
        )


class DatasetCheck:
    """Each input the stream meets, against the listing of earlier sessions in ``reader``."""

    def __init__(self, reader: ResultStore, out: Path) -> None:
        self.reader = reader
        self.out = out
        self.end: int | None = reader.get_meta(LISTING_END)

    def check(self, chunk: Chunk) -> None:
        if not chunk.reached:
            return
        stored = self.reader.listed(chunk.reached[0][0], chunk.reached[-1][0])
        for position, image, digest in chunk.reached:
            if self.end is not None and position >= self.end:
                raise ChangedDataset(self.out, f"the dataset now has more than its {self.end} inputs")
            if position not in stored:
                continue
            old_image, old_digest = stored[position]
            if old_image != image:
                raise ChangedDataset(self.out, f"input {position + 1} is '{image}', not '{old_image}'")
            if old_digest != digest:
                if digest is None or old_digest is None:
                    now = "cannot be read now" if digest is None else "reads now but was skipped"
                    raise ChangedDataset(self.out, f"image '{image}' {now}")
                raise ChangedDataset(self.out, f"the pixels of image '{image}' changed")

    def finish(self, store: ResultStore, reached: int) -> None:
        """The stream is over and met ``reached`` inputs: a dataset that shrank is refused, and the
        length of a complete stream is stored for later sessions."""
        if self.end is not None and reached < self.end:
            raise ChangedDataset(self.out, f"the dataset now has {reached} inputs, not {self.end}")
        if self.end is None:
            store.set_meta(LISTING_END, reached)
