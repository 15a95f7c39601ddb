"""Test images before they are decoded, so a run can decode them in parallel, ahead of the model, and a
rank of a torchrun run decodes only the images it scores.

``Dataset.samples`` yields decoded images one after another. A dataset may also offer
``lazy_samples(split, image_size)``, yielding an ``Entry`` per input in the same order: its id (known
without decoding) and a ``read`` that decodes and preprocesses it, callable from any thread. A ``read``
that raises means the input is unusable: the runner calls the entry's ``skip`` with the exception (which
records it in ``Dataset.skipped``, as ``samples`` would have) and goes on. The built-in datasets offer
it; for any other dataset ``entries`` wraps ``samples``, so decoding then happens wherever the stream
is read, in order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..components import Dataset, Sample
from ..errors import InpaintbenchError


@dataclass
class Loaded:
    """One decoded test image: float32 H x W x 3 in [0, 1]."""

    image: np.ndarray
    #: Masks the dataset fixes for this image as it reads it (regime -> bool H x W, True = hole), such as
    #: LaMa's draw-then-crop protocol; other regimes ask ``Dataset.frozen_mask`` as usual.
    masks: dict[str, np.ndarray] = field(default_factory=dict)
    #: A PNG file holding exactly these pixels as 8-bit RGB, so the run folder can copy it instead of
    #: encoding the ground truth again; None when the pixels were resampled, cropped or converted.
    source: Path | None = None


@dataclass(frozen=True)
class Entry:
    """One input of a split, not yet decoded."""

    image_id: str
    read: Callable[[], Loaded]
    #: Records that ``read`` failed (the input is skipped, never the run stopped); None: the failure is
    #: the dataset's bug and propagates.
    skip: Callable[[BaseException], None] | None = None


def entries(dataset: Dataset, split: str, image_size: int) -> Iterator[Entry]:
    """The dataset's entries: its own ``lazy_samples`` when it has them, else its decoded samples."""
    lazy = dataset.lazy_samples(split, image_size)
    if lazy is not None:
        return lazy
    return (_decoded(sample) for sample in dataset.samples(split, image_size))


def _decoded(sample: Sample) -> Entry:
    loaded = Loaded(sample.image)
    return Entry(sample.image_id, lambda: loaded)


def decode_in_order(found: Iterator[Entry]) -> Iterator[tuple[Entry, Loaded]]:
    """Each entry that reads, in order, skipping (and recording) those that do not: what ``samples``
    of a dataset with ``lazy_samples`` is."""
    for entry in found:
        try:
            loaded = entry.read()
        except InpaintbenchError:
            raise  # the user's to fix (a mask regime that cannot draw), not one bad file
        except Exception as exc:
            if entry.skip is None:
                raise
            entry.skip(exc)
            continue
        yield entry, loaded
