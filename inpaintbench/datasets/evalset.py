"""``--dataset evalset:DIR``: evaluate exactly a frozen evaluation set (``inpaintbench freeze``).

Every file's sha256 is checked against the manifest when the dataset is opened, before any work.
The set's masks are used for the regimes it holds (``--masks`` must name regimes exactly as they
were frozen, for example ``lama-thick:512``); the run's ``--seed`` does not change them, and
``--image-size`` must be the set's. A regime the set does not hold is an error. The generator of
each regime must still be installed, since the runner resolves every ``--masks`` name, but it is
never called.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path

import numpy as np

from ..components import Dataset, Sample
from ..errors import InpaintbenchError
from ..frozen import load_manifest
from .entries import Entry, Loaded
from .images import open_image, read_image, to_float_rgb


class EvalSetDataset(Dataset):
    name = "evalset"
    description = "a frozen evaluation set from inpaintbench freeze (evalset:DIR): images and masks, verified"

    argument = "DIR written by inpaintbench freeze"

    def __init__(self, arg: str | None = None) -> None:
        super().__init__(arg)
        if not arg:
            raise InpaintbenchError("dataset 'evalset' needs a folder: evalset:DIR")
        self.root = Path(arg).expanduser()
        self.manifest = load_manifest(self.root)
        self.images = {entry["id"]: entry["file"] for entry in self.manifest["images"]}
        self.masks = {
            regime: {entry["id"]: entry["file"] for entry in spec["masks"]}
            for regime, spec in self.manifest["regimes"].items()
        }

    def source_path(self, image_id: str) -> Path:
        return self.root / self.images[image_id]

    def samples(self, split: str, image_size: int) -> Iterator[Sample]:
        for entry in self.lazy_samples(split, image_size):
            yield Sample(entry.image_id, entry.read().image)

    def lazy_samples(self, split: str, image_size: int) -> Iterator[Entry]:
        """One entry per image of the manifest (``entries.py``); every file was verified on opening, so
        a failure to read one is an error, not a skip."""
        if split != "test":
            raise InpaintbenchError(
                f"evaluation set {self.root} holds only test images; train with --train-dataset"
            )
        if image_size != self.manifest["image_size"]:
            raise InpaintbenchError(
                f"evaluation set {self.root} was frozen at {self.manifest['image_size']} px: "
                f"run it with --image-size {self.manifest['image_size']}"
            )
        for image_id, file in self.images.items():
            yield Entry(image_id, partial(_read, self.root / file))

    def frozen_mask(self, regime: str, image_id: str) -> np.ndarray:
        if regime not in self.masks:
            raise InpaintbenchError(
                f"evaluation set {self.root} has no masks for regime '{regime}' "
                f"(it holds: {', '.join(self.masks)})"
            )
        return to_float_rgb(read_image(self.root / self.masks[regime][image_id]))[:, :, 0] >= 0.5


def _read(path: Path) -> Loaded:
    image, plain = open_image(path)
    return Loaded(to_float_rgb(image), source=path if plain else None)
