"""Image files, read and written the same way everywhere: a folder listed, any image decoded within
bounds and fitted to a square, PNGs encoded losslessly and written atomically.

Decoding (Pillow) normalises every mode to one of two: 8-bit sources (L, P, RGB, CMYK, ...) become
RGB; 16-bit greyscale (I;16*, and I, which is how 16- and 32-bit integer files open) becomes float
("F") divided by 65535, and float files stay float. Alpha is dropped, not composited, as OpenCV's
``imread`` (LaMa, mmagic) does, so an RGBA file scores the same here as there. EXIF orientation is
applied. Limitation: Pillow reads a PNG with 16 bits per colour channel as 8-bit RGB.

Resizing is Pillow's bicubic filter in that mode: 8-bit images give exactly LaMa's preprocessing
(PIL bicubic on the short side, then a centre square), 16-bit ones keep their precision. A side
already at the target size is not resampled. Output: float32 H x W x 3 in [0, 1], greyscale
repeated to three channels.

PNG is lossless at every setting; the settings trade file size for time. A run folder's photos (ground
truth, predictions) are encoded with OpenCV's libpng: PNG's Sub filter on every row, zlib level 1 and
zlib's run-length strategy (after the filter a photo is mostly noise-like residuals that longer matches
barely shrink, while a filled hole is runs); Pillow would try all five filters on every row. Measured by
``benchmarks/png_settings.py`` (683 x 512 JPEG photos resized, one thread, CPU ms and KB per file):

    photo at         Pillow level 6   Pillow level 1 + RLE   run: Sub, level 1, RLE
    256 px           20.4 ms, 109 KB  6.7 ms, 107 KB         4.3 ms, 116 KB
    512 px           97.3 ms, 382 KB  26.2 ms, 386 KB        17.1 ms, 429 KB

so 1.5x faster than Pillow's fastest setting (1.4x for a prediction with a flat hole) for files 8 to 12%
larger. Ground truth is written once per run folder, and copied instead of encoded when the dataset's
file already is a plain RGB PNG of those pixels.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps

from .files.atomic import write_atomically

HIGH_BIT_INTEGER_MODES = ("I", "I;16", "I;16L", "I;16B", "I;16N")
#: The EXIF tag that says how to rotate the stored pixels for display.
ORIENTATION = 0x0112


#: The most pixels one image may have (Pillow's own bomb limit, 89.5 MP, stays as it is): a small file
#: can hold a huge flat image (a 13000 x 13000 PNG of one colour is 518 KB and 2.6 GB decoded).
MAX_PIXELS = 64 * 2**20
#: The most one side may exceed the other: every image is resized with its short side to the run's size,
#: so a strip costs that size squared times its aspect ratio to resize, whatever its pixel count (a 1 x
#: 150000 PNG of 664 bytes became 64 x 9.6 million pixels, 3.5 GB, at --image-size 64). Bounded with
#: ``MAX_PIXELS``, each side is at most 32768 and the resize at most 16 squares of the run's size.
MAX_ASPECT = 16


def list_files(root: Path, skip: Callable[[Path, str], None]) -> list[Path]:
    """Every regular file below the root in POSIX-path order. What is left out is passed to
    ``skip`` with the reason, never dropped silently: hidden names (a leading dot), anything
    that is not a regular file (a FIFO would hang the read), broken links, folders that cannot be
    listed, and links back to a folder already walked (a loop)."""
    found: list[Path] = []
    seen: set[Path] = set()

    def listing_failed(error: OSError) -> None:
        skip(Path(error.filename or root), f"cannot be listed: {error.strerror}")

    for folder, dirs, names in os.walk(root, onerror=listing_failed, followlinks=True):
        here = Path(folder)
        real = here.resolve()
        if real in seen:
            skip(here, "a link to a folder already read (a loop); not read again")
            dirs.clear()
            continue
        seen.add(real)
        for name in [d for d in dirs if d.startswith(".")]:
            skip(here / name, "hidden folder (its name starts with a dot)")
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            path = here / name
            if name.startswith("."):
                skip(path, "hidden file (its name starts with a dot)")
            elif not path.exists():
                skip(path, "broken symbolic link")
            elif not stat.S_ISREG(path.stat().st_mode):
                skip(path, "not a regular file")
            else:
                found.append(path)
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def read_image(path: Path | BinaryIO) -> Image.Image:
    """The decoded file (or bytes already read) in mode RGB or F; raises whatever Pillow raises for a
    bad file, and ValueError for one over ``MAX_PIXELS`` or ``MAX_ASPECT``, before decoding it."""
    return open_image(path)[0]


def open_image(path: Path | BinaryIO) -> tuple[Image.Image, bool]:
    """``read_image``, and whether the file is a plain 8-bit RGB PNG (no alpha, palette, other depth or
    EXIF rotation): then the decoded pixels are exactly the file's, and a copy of the file is a lossless
    PNG of them."""
    with Image.open(path) as im:
        width, height = im.size
        if width * height > MAX_PIXELS:
            raise ValueError(f"{width} x {height} is over the limit of {MAX_PIXELS:,} pixels per image")
        if max(width, height) > MAX_ASPECT * min(width, height):
            raise ValueError(
                f"{width} x {height} is over the limit of {MAX_ASPECT}:1 for the long side against the short"
            )
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


def as_8bit(image: np.ndarray) -> np.ndarray:
    """Float [0, 1] rounded to the 256 levels an 8-bit PNG holds, as float32: exactly what reading
    back ``to_uint8(image)`` gives, so a score of these pixels is a score of the saved file."""
    return to_uint8(image).astype(np.float32) / np.float32(255)


#: Pillow's default, kept for files written once and kept long (frozen evaluation sets, exports).
DEFAULT_LEVEL = 6


def write_png(path: Path, image: np.ndarray) -> None:
    """``image`` (float in [0, 1], uint8, or bool for a mask) as a PNG at ``path``, with Pillow at
    ``DEFAULT_LEVEL``."""
    if image.dtype == bool:
        image = image.astype(np.uint8) * 255
    pixels = Image.fromarray(image if image.dtype == np.uint8 else to_uint8(image))
    write_atomically(path, lambda tmp: pixels.save(tmp, format="PNG", compress_level=DEFAULT_LEVEL))


def write_run_png(path: Path, image: np.ndarray) -> None:
    """A run's photo (float in [0, 1] or uint8 RGB) as a PNG: Sub filter, zlib level 1, run-length."""
    import cv2  # here: only a run that saves images needs OpenCV

    pixels = image if image.dtype == np.uint8 else to_uint8(image)
    bgr = np.ascontiguousarray(pixels[..., ::-1])  # OpenCV's channel order; numpy, not OpenCV's threads
    settings = [cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_SUB, cv2.IMWRITE_PNG_COMPRESSION, 1,
                cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE]  # fmt: skip
    ok, encoded = cv2.imencode(".png", bgr, settings)
    if not ok:
        raise RuntimeError(f"OpenCV could not encode {path.name}")
    write_atomically(path, lambda tmp: tmp.write_bytes(encoded))  # an OSError with its errno when full


def copy_png(source: Path, path: Path) -> None:
    """A lossless PNG already on disk, copied into place atomically."""
    write_atomically(path, lambda tmp: shutil.copyfile(source, tmp))
