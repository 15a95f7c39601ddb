"""Small lossless PNG thumbnails, written to assets/ or inlined as data: URIs."""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from ..files import layout
from ..files.atomic import write_atomically

#: Longest side of an image in the report; the lightbox shows the same file larger.
THUMB_SIDE = 256
HOLE_GREY = 128
OUTLINE_RGB = (255, 0, 255)


def _fit(image: Image.Image, side: int, resample: Image.Resampling) -> Image.Image:
    if max(image.size) <= side:
        return image
    scale = side / max(image.size)
    return image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), resample)


def read_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(_fit(image.convert("RGB"), THUMB_SIDE, Image.Resampling.BOX))


def read_mask(path: Path) -> np.ndarray:
    """True = hole (white in the runner's mask PNGs); nearest resampling keeps it binary."""
    with Image.open(path) as image:
        return np.asarray(_fit(image.convert("L"), THUMB_SIDE, Image.Resampling.NEAREST)) >= 128


def mask_image(mask: np.ndarray) -> np.ndarray:
    return np.where(mask, 255, 0).astype(np.uint8)


def masked_input(target: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """What the model saw: the hole greyed out, with its border drawn so small holes stay visible."""
    if mask.shape != target.shape[:2]:
        mask = np.asarray(Image.fromarray(mask).resize(target.shape[1::-1], Image.Resampling.NEAREST))
    padded = np.pad(mask, 1, mode="constant", constant_values=False)
    interior = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:] & mask
    out = target.copy()
    out[mask] = HOLE_GREY
    out[mask & ~interior] = OUTLINE_RGB
    return out


def png_bytes(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


class Assets:
    """Hands out one URL per distinct picture: a relative assets/ path, or a data: URI when inlined.

    A picture whose source file is missing or unreadable gets ``None``; the page shows a placeholder.
    """

    def __init__(self, out_dir: Path, inline: bool) -> None:
        self.folder = Path(out_dir) / layout.ASSETS_DIR
        self.inline = inline
        self._urls: dict[tuple[str, ...], str | None] = {}

    def _url(self, key: tuple[str, ...], make: Callable[[], np.ndarray]) -> str | None:
        if key not in self._urls:
            self._urls[key] = self._store(make)
        return self._urls[key]

    def _store(self, make: Callable[[], np.ndarray]) -> str | None:
        try:
            data = png_bytes(make())
        except OSError:  # missing, unreadable, or not an image (UnidentifiedImageError)
            return None
        if self.inline:
            return "data:image/png;base64," + base64.b64encode(data).decode("ascii")
        name = hashlib.sha1(data).hexdigest()[:20] + ".png"  # named by content: no stale browser caches
        write_atomically(self.folder / name, lambda tmp: tmp.write_bytes(data))
        return f"{layout.ASSETS_DIR}/{name}"

    @property
    def written(self) -> list[str]:
        """The files written, relative to the report's folder (as the page links them)."""
        return [url for url in self._urls.values() if url and not url.startswith("data:")]

    def rgb(self, path: Path) -> str | None:
        return self._url(("rgb", str(path)), lambda: read_rgb(path))

    def mask(self, path: Path) -> str | None:
        return self._url(("mask", str(path)), lambda: mask_image(read_mask(path)))

    def masked_input(self, target: Path, mask: Path) -> str | None:
        return self._url(
            ("input", str(target), str(mask)), lambda: masked_input(read_rgb(target), read_mask(mask))
        )
