"""The embedded default dataset: photos that installed packages ship, cut into square crops.

Every photo ships inside scikit-image or scikit-learn (no download). The split is by photo, so no scene
is in both: ``test`` holds five colour photos, scikit-image's chelsea (a cat), coffee (a cup on a
table) and immunohistochemistry (stained tissue), and scikit-learn's china (a temple roof) and flower
(CC BY 2.0, by danielbuechele and vultilion on Flickr): 64 crops at 128 px and 11 at 256. ``train``
holds scikit-image's other colour photos, astronaut, rocket, hubble_deep_field, retina and the left
view of stereo_motorcycle, and the seven grayscale photos of natural scenes and textures (camera,
brick, grass, gravel, moon, coins, clock) as RGB with equal channels: 301 crops at 128 px and 64 at
256. Without the grayscale photos three quarters of the training pixels were retina and deep-field
sky. Each photo is cut into a non-overlapping grid of size x size crops centred on the photo (a photo
smaller than the size first has its short side resized up to it), read row by row: ids like
``chelsea/r0c2``. Crops of one photo are not independent samples: ``source_of`` names the photo, so a
run's intervals resample photos.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from ..components import Dataset, Sample
from ..errors import InpaintbenchError
from ..images import resize_short_side, to_float_rgb

GRAYSCALE = ("camera", "brick", "grass", "gravel", "moon", "coins", "clock")
SPLITS: dict[str, tuple[str, ...]] = {
    "train": ("astronaut", "rocket", "hubble_deep_field", "retina", "stereo_motorcycle", *GRAYSCALE),
    "test": ("chelsea", "coffee", "immunohistochemistry", "china", "flower"),
}
#: The photos scikit-learn ships (``sklearn/datasets/images``), read as files: importing scikit-learn
#: would cost a second for two JPEGs.
SKLEARN_PHOTOS = ("china", "flower")


def load_photo(name: str) -> Image.Image:
    """One bundled photo as RGB (the left view for the stereo pair)."""
    if name in SKLEARN_PHOTOS:
        return Image.open(_sklearn_images() / f"{name}.jpg").convert("RGB")
    from skimage import data

    photo = getattr(data, name)()
    return Image.fromarray(photo[0] if name == "stereo_motorcycle" else photo).convert("RGB")


def _sklearn_images() -> Path:
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise InpaintbenchError("dataset 'samples' needs scikit-learn's photos: pip install scikit-learn")
    return Path(spec.submodule_search_locations[0]) / "datasets" / "images"


def grid_crops(photo: Image.Image, size: int) -> Iterator[tuple[int, int, np.ndarray]]:
    """(row, column, crop) for the centred grid of non-overlapping size x size crops."""
    if min(photo.size) < size:
        photo = resize_short_side(photo, size)
    image = to_float_rgb(photo)
    h, w = image.shape[:2]
    rows, cols = h // size, w // size
    top0, left0 = (h - rows * size) // 2, (w - cols * size) // 2
    for r in range(rows):
        for c in range(cols):
            top, left = top0 + r * size, left0 + c * size
            yield r, c, np.ascontiguousarray(image[top : top + size, left : left + size])


class SamplesDataset(Dataset):
    name = "samples"
    description = "scikit-image's bundled photos as square crops; split by photo (5 test, 12 train)"

    def samples(self, split: str, image_size: int) -> Iterator[Sample]:
        if split not in SPLITS:
            raise InpaintbenchError(f"dataset 'samples' has splits {', '.join(SPLITS)}; not '{split}'")
        for photo in SPLITS[split]:
            for r, c, crop in grid_crops(load_photo(photo), image_size):
                yield Sample(f"{photo}/r{r}c{c}", crop)

    def source_of(self, image_id: str) -> str | None:
        """The photo a crop was cut from: ``chelsea/r0c2`` comes from ``chelsea``."""
        return image_id.partition("/")[0]
