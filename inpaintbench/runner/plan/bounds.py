"""The bounds options are checked against before any work, so a typo is an error, not a run.

Torch-free: the CLI checks ``train``, ``freeze``, ``export`` and ``masks`` options with these too.
"""

from __future__ import annotations

import os

from ...errors import InpaintbenchError

MIN_IMAGE_SIZE = 8
#: One 4096 x 4096 RGB image is 200 MB as float32 and a batch of 16 over 3 GB; a larger side is a typo
#: (100000 would ask for 120 GB per image), not a benchmark.
MAX_IMAGE_SIZE = 4096
#: The longest ``--name`` in bytes: well below the 255 of most file systems' names.
MAX_NAME = 128


def check_image_size(size: int) -> None:
    if size < MIN_IMAGE_SIZE:
        raise InpaintbenchError(f"--image-size {size} is too small ({MIN_IMAGE_SIZE} at least)")
    if size > MAX_IMAGE_SIZE:
        raise InpaintbenchError(f"--image-size {size} is too large ({MAX_IMAGE_SIZE} at most)")


def check_positive(flag: str, value: int | None) -> None:
    """``value`` (None: not given) must be 1 or more: 0 or -1 would otherwise mean something silently."""
    if value is not None and value < 1:
        raise InpaintbenchError(f"{flag} {value} must be at least 1")


def check_names(flag: str, specs: list[str]) -> None:
    """A list option (``--masks a,b``) must name something, and each thing once: a regime given twice
    would be drawn and scored twice under one name."""
    if not specs:
        raise InpaintbenchError(f"{flag} names nothing")
    if len(set(specs)) != len(specs):
        raise InpaintbenchError(f"{flag} names {max(specs, key=specs.count)!r} twice")


def check_name(name: str) -> None:
    """``--name`` is one folder inside reports/: a separator, '.', '..' or an absolute path would put the
    run somewhere else, and a control character would make a name no terminal shows as typed."""
    if (
        name in ("", ".", "..")
        or any(sep in name for sep in (os.sep, os.altsep) if sep)
        or not name.isprintable()
        or len(name.encode("utf-8", "surrogateescape")) > MAX_NAME
    ):
        raise InpaintbenchError(
            f"--name {name!r} is not a plain folder name: no '{os.sep}', not '.' or '..', printable, "
            f"at most {MAX_NAME} bytes"
        )
