"""``--dataset evalset:DIR``: evaluate exactly a frozen evaluation set (``inpaintbench freeze``).

Every file's sha256 is checked against the manifest when the dataset is opened, before any work.
The set's masks are used for the regimes it holds (``--masks`` must name regimes exactly as they
were frozen, for example ``lama-thick:512``); the run's ``--seed`` does not change them, and
``--image-size`` must be the set's. A regime the set does not hold is an error. The generator of
each regime must still be installed, since the runner resolves every ``--masks`` name, but it is
never called.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from ..cache import sha256_file
from ..components import Dataset, Sample
from ..errors import InpaintbenchError
from ..images import open_image, read_image, to_float_rgb
from .entries import Entry, Loaded

#: The file that lists a frozen set's images and masks with their sha256, and its format tag.
MANIFEST = "manifest.json"
FORMAT = "inpaintbench-evalset/1"


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
        self.scenes = {
            e["id"]: str(e["scene"]) for e in self.manifest["images"] if e.get("scene") is not None
        }
        self.masks = {
            regime: {entry["id"]: entry["file"] for entry in spec["masks"]}
            for regime, spec in self.manifest["regimes"].items()
        }

    def source_of(self, image_id: str) -> str | None:
        """The photo the frozen image was cut from, as its dataset said when the set was frozen."""
        return self.scenes.get(image_id)

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


def load_manifest(root: Path) -> dict[str, Any]:
    """The set's manifest after checking every file's sha256; a missing or changed file is an error."""
    path = root / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise InpaintbenchError(
            f"{root} is not a frozen evaluation set: no {MANIFEST} (make one with inpaintbench freeze)"
        ) from None
    except (OSError, ValueError) as exc:
        raise InpaintbenchError(f"{path} cannot be read: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InpaintbenchError(f"{path} is not an inpaintbench evaluation set manifest ({FORMAT})")
    entries = manifest["images"] + [m for regime in manifest["regimes"].values() for m in regime["masks"]]
    bad = []
    for entry in entries:
        file = root / entry["file"]
        if not file.is_file():
            bad.append(f"{entry['file']} is missing")
        elif sha256_file(file) != entry["sha256"]:
            bad.append(f"{entry['file']} was modified (its sha256 differs from {MANIFEST})")
    if bad:
        more = f" (and {len(bad) - 1} more files)" if len(bad) > 1 else ""
        raise InpaintbenchError(f"evaluation set {root}: {bad[0]}{more}")
    return manifest
