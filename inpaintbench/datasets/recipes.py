"""Benchmark datasets with fixed splits: ``paris_streetview:PATH``, ``celeba_hq:PATH``, ``places365:PATH``.

Each recipe is a folder ``datasets/<name>/`` at the top of the repository holding ``recipe.json``
(the splits: which folder under PATH each lives in, and either a committed file list or a count
and naming rule), the lists, and a README saying where to get the data. ``INPAINTBENCH_RECIPES``
names another folder of recipes (the tests point it at reduced ones). Images are read with the
shared loader in ``inpaintbench/images.py``; ``inpaintbench datasets check NAME PATH`` says whether a copy is
complete.

Preprocessing: CelebA-HQ and Places365 follow LaMa (short side to the run's size, bicubic, then
the centre square: ``fit_square``); ``places365:PATH?crop=lama-thick:512`` instead cuts each test
square where LaMa's evaluation-set generator would, around the regime's mask (``lama_crop.py``).
Paris StreetView follows the Context Encoder: its 227 x 227 test images are resized whole to the
run's size (128 in the paper), to be scored with the ``center`` mask; training images get the
Context Encoder's load size, the short side to 350 px for a 128 px crop (scaled with the run's
size), and the centre crop where the original takes a random one (a dataset here is deterministic;
augmentation belongs to the model).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import ClassVar

import numpy as np
from PIL import Image

from ..components import Sample
from ..errors import InpaintbenchError
from ..images import fit_square, open_image, read_image, resize_short_side, to_float_rgb
from .entries import Entry, Loaded, decode_in_order
from .folder import FolderDataset
from .lama_crop import LamaCrop

ENV_VAR = "INPAINTBENCH_RECIPES"
RECIPE_FILE = "recipe.json"


def recipes_dir() -> Path:
    """``$INPAINTBENCH_RECIPES``, else ``datasets/`` of the source checkout this package runs from."""
    configured = os.environ.get(ENV_VAR)
    return Path(configured) if configured else Path(__file__).resolve().parents[2] / "datasets"


@dataclass(frozen=True)
class Split:
    """Where one split lives and which file names make it up."""

    name: str
    folders: tuple[str, ...]
    names: tuple[str, ...] | None  # the committed list, or None for a rule
    count: int
    pattern: str | None
    rule: str

    def locate(self, root: Path) -> Path | None:
        """The first of the accepted folders that exists under ``root``."""
        return next((root / f for f in self.folders if (root / f).is_dir()), None)

    def present(self, folder: Path) -> list[str]:
        """Visible files directly in the folder (subfolders and hidden files are not part of it)."""
        return sorted(p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))

    def expected(self, folder: Path) -> list[str]:
        """The split's file names: the list, or the files present that follow the rule."""
        if self.names is not None:
            return list(self.names)
        return [n for n in self.present(folder) if self.follows_rule(n)]

    def follows_rule(self, name: str) -> bool:
        return self.pattern is None or re.fullmatch(self.pattern, name) is not None


@dataclass(frozen=True)
class Recipe:
    name: str
    title: str
    splits: dict[str, Split]
    directory: Path

    @classmethod
    def load(cls, name: str) -> Recipe:
        directory = recipes_dir() / name
        path = directory / RECIPE_FILE
        if not path.is_file():
            known = ", ".join(available_recipes()) or "none"
            raise InpaintbenchError(f"no dataset recipe '{name}' ({path} not found; known: {known})")
        try:
            doc = json.loads(path.read_text())
            splits = {key: _split(key, spec, directory) for key, spec in doc["splits"].items()}
            return cls(doc["name"], doc["title"], splits, directory)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InpaintbenchError(f"dataset recipe {path} is malformed: {exc}") from exc

    def split(self, split: str) -> Split:
        if split not in self.splits:
            raise InpaintbenchError(
                f"dataset '{self.name}' has the splits {', '.join(self.splits)}; not '{split}'"
                " (train on another dataset with --train-dataset)"
            )
        return self.splits[split]


def _split(key: str, spec: dict, directory: Path) -> Split:
    names = None
    if "list" in spec:
        lines = (directory / spec["list"]).read_text().splitlines()
        names = tuple(line.strip() for line in lines if line.strip())
    return Split(
        name=key,
        folders=tuple(spec["folders"]),
        names=names,
        count=len(names) if names is not None else int(spec["count"]),
        pattern=spec.get("pattern"),
        rule=spec.get("rule", f"the {spec.get('list', '')} list"),
    )


def available_recipes() -> list[str]:
    root = recipes_dir()
    return sorted(p.parent.name for p in root.glob(f"*/{RECIPE_FILE}")) if root.is_dir() else []


class RecipeDataset(FolderDataset):
    """A folder laid out as its recipe says; the splits come from the recipe, not the whole tree."""

    has_splits = True
    recipe_name: ClassVar[str] = ""
    argument = "PATH of the dataset's root folder"

    def __init__(self, arg: str | None = None) -> None:
        if not arg:
            raise InpaintbenchError(f"dataset '{self.name}' needs a path: {self.name}:PATH")
        super().__init__(arg)
        self.recipe = Recipe.load(self.recipe_name)

    def folder(self, split: str) -> Path:
        spec = self.recipe.split(split)
        folder = spec.locate(self.root)
        if folder is None:
            raise InpaintbenchError(
                f"dataset '{self.name}': no {' or '.join(spec.folders)} folder under {self.root}"
                f" (check the copy: inpaintbench datasets check {self.name} {self.root})"
            )
        return folder

    def source_path(self, image_id: str) -> Path:
        """The file an image id was read from (its test split), for frozen-set manifests."""
        return self.folder("test") / image_id

    def preprocess(self, image: Image.Image, split: str, image_size: int, image_id: str) -> np.ndarray:
        return fit_square(image, image_size)

    def samples(self, split: str, image_size: int) -> Iterator[Sample]:
        """Ids are file names within the split's folder; missing or unreadable files are skipped."""
        loaded = 0
        for entry, image in decode_in_order(self.lazy_samples(split, image_size)):
            loaded += 1
            yield Sample(entry.image_id, image.image)
        if loaded == 0:
            folder = self.folder(split)
            raise InpaintbenchError(f"dataset '{self.name}': no readable {split} images in {folder}")

    def lazy_samples(self, split: str, image_size: int) -> Iterator[Entry]:
        """One entry per file the recipe names, in its order (``entries.py``)."""
        folder = self.folder(split)
        for name in self.recipe.split(split).expected(folder):
            path = folder / name
            yield Entry(name, partial(self._read, path, split, image_size), partial(self._skip_failed, path))

    def _read(self, path: Path, split: str, image_size: int) -> Loaded:
        image, plain = open_image(path)
        pixels = self.preprocess(image, split, image_size, path.name)
        lossless = plain and image.size == (image_size, image_size) and self.fits_square(split)
        return Loaded(pixels, source=path if lossless else None)

    def fits_square(self, split: str) -> bool:
        """Whether ``preprocess`` of ``split`` is ``fit_square``, which keeps an image already at the
        run's size pixel for pixel."""
        return True


class ParisStreetView(RecipeDataset):
    name = "paris_streetview"
    description = "Paris StreetView (paris_streetview:PATH): 14,900 train / 100 test, Context Encoder setup"
    recipe_name = "paris_streetview"
    #: The Context Encoder's load size for its 128 px crops.
    LOAD_SIZE_AT_128 = 350

    def fits_square(self, split: str) -> bool:
        return split == "test"

    def preprocess(self, image: Image.Image, split: str, image_size: int, image_id: str) -> np.ndarray:
        if split == "test":
            return fit_square(image, image_size)
        loaded = to_float_rgb(resize_short_side(image, round(self.LOAD_SIZE_AT_128 * image_size / 128)))
        top, left = (loaded.shape[0] - image_size) // 2, (loaded.shape[1] - image_size) // 2
        return np.ascontiguousarray(loaded[top : top + image_size, left : left + image_size])


class CelebAHQ(RecipeDataset):
    name = "celeba_hq"
    description = "CelebA-HQ 256 in LaMa's split (celeba_hq:PATH): 26,000 train / 2,000 val / 2,000 test"
    recipe_name = "celeba_hq"


class Places365(RecipeDataset):
    """Centre squares by default; ``?crop=lama-KIND:SIZE`` follows LaMa's draw-then-crop protocol."""

    name = "places365"
    description = "Places365 validation images as a test set (places365:PATH[?crop=lama-thick:512]): 36,500"
    recipe_name = "places365"
    argument = "PATH[?crop=lama-KIND:SIZE&seed=N]: the root folder; crop= cuts each square as LaMa does"

    def __init__(self, arg: str | None = None) -> None:
        path, _, query = (arg or "").partition("?")
        super().__init__(path)
        self.arg = arg  # the spec keeps its options
        self.crop = LamaCrop(query, self.spec) if query else None

    def preprocess(self, image: Image.Image, split: str, image_size: int, image_id: str) -> np.ndarray:
        if self.crop is None or split != "test":
            return super().preprocess(image, split, image_size, image_id)
        return self.crop.cut(image_id, image, image_size)

    def _read(self, path: Path, split: str, image_size: int) -> Loaded:
        if self.crop is None or split != "test":
            return super()._read(path, split, image_size)
        square, mask = self.crop.cut_with_mask(path.name, read_image(path), image_size)
        return Loaded(square, {self.crop.regime: mask})

    def fits_square(self, split: str) -> bool:
        return self.crop is None or split != "test"

    def frozen_mask(self, regime: str, image_id: str) -> np.ndarray | None:
        return None if self.crop is None else self.crop.mask(regime, image_id)
