"""Reading any image file and fitting it to a square, shared by the dataset recipes.

Decoding (Pillow) normalises every mode to one of two: 8-bit sources (L, P, RGB, CMYK, ...) become
RGB; 16-bit greyscale (I;16*, and I, which is how 16- and 32-bit integer files open) becomes float
("F") divided by 65535, and float files stay float. Alpha is dropped, not composited, as OpenCV's
``imread`` (LaMa, mmagic) does, so an RGBA file scores the same here as there. EXIF orientation is
applied. Limitation: Pillow reads a PNG with 16 bits per colour channel as 8-bit RGB.

Resizing is Pillow's bicubic filter in that mode: 8-bit images give exactly LaMa's preprocessing
(PIL bicubic on the short side, then a centre square), 16-bit ones keep their precision. A side
already at the target size is not resampled. Output: float32 H x W x 3 in [0, 1], greyscale
repeated to three channels.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps

HIGH_BIT_INTEGER_MODES = ("I", "I;16", "I;16L", "I;16B", "I;16N")
#: The EXIF tag that says how to rotate the stored pixels for display.
ORIENTATION = 0x0112


#: The most pixels one image may have (Pillow's own bomb limit, 89.5 MP, stays as it is): a small file
#: can hold a huge flat image (a 13000 x 13000 PNG of one colour is 518 KB and 2.6 GB decoded).
MAX_PIXELS = 64 * 2**20


def read_image(path: Path | BinaryIO) -> Image.Image:
    """The decoded file (or bytes already read) in mode RGB or F; raises whatever Pillow raises for a
    bad file, and ValueError for one over ``MAX_PIXELS``, before decoding it."""
    return open_image(path)[0]


def open_image(path: Path | BinaryIO) -> tuple[Image.Image, bool]:
    """``read_image``, and whether the file is a plain 8-bit RGB PNG (no alpha, palette, other depth or
    EXIF rotation): then the decoded pixels are exactly the file's, and a copy of the file is a lossless
    PNG of them."""
    with Image.open(path) as im:
        width, height = im.size
        if width * height > MAX_PIXELS:
            raise ValueError(f"{width} x {height} is over the limit of {MAX_PIXELS:,} pixels per image")
        im.load()
        plain = im.format == "PNG" and im.mode == "RGB" and im.getexif().get(ORIENTATION, 1) == 1
        return normalise_mode(ImageOps.exif_transpose(im)), plain


def normalise_mode(im: Image.Image) -> Image.Image:
    """RGB for 8-bit sources, F scaled to [0, 1] for high-bit-depth greyscale."""
    if im.mode in HIGH_BIT_INTEGER_MODES:
        return Image.fromarray(np.asarray(im, dtype=np.float32) / 65535.0)
    if im.mode == "F":
        return im
    if im.mode == "P":  # palette transparency is only dropped cleanly via RGBA
        im = im.convert("RGBA")
    return im.convert("RGB")


def resize_short_side(im: Image.Image, size: int) -> Image.Image:
    """Bicubic resize so the shorter side is ``size``, keeping the aspect ratio."""
    width, height = im.size
    short = min(width, height)
    if short == size:
        return im
    scale = size / short
    target = (max(size, round(width * scale)), max(size, round(height * scale)))
    return im.resize(target, Image.Resampling.BICUBIC)


def to_float_rgb(im: Image.Image) -> np.ndarray:
    """An RGB or F image as float32 H x W x 3 in [0, 1]."""
    if im.mode == "F":
        grey = np.clip(np.asarray(im, dtype=np.float32), 0.0, 1.0)
        return np.repeat(grey[:, :, None], 3, axis=2)
    return np.asarray(im, dtype=np.float32) / 255.0


def fit_square(im: Image.Image, size: int) -> np.ndarray:
    """LaMa's preprocessing: short side to ``size`` (bicubic), then the centre square."""
    im = resize_short_side(im, size)
    width, height = im.size
    left, top = (width - size) // 2, (height - size) // 2
    return to_float_rgb(im.crop((left, top, left + size, top + size)))


def load_square(path: Path, size: int) -> tuple[np.ndarray, bool]:
    """``fit_square`` of the file, and whether the file already holds exactly those pixels as a plain
    RGB PNG (it is ``size`` x ``size``, so nothing was resampled or cropped)."""
    im, plain = open_image(path)
    return fit_square(im, size), plain and im.size == (size, size)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Float [0, 1] (H x W or H x W x 3) to uint8 with rounding, as every viewer expects: the inverse
    of reading an 8-bit file, shared by the run's PNGs and the models that work in 8 bits."""
    return np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)
