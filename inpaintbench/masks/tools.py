"""``inpaintbench masks preview`` and ``masks stats``: look at a regime before running it.

Sample masks are drawn with ``draw_mask`` for the image ids ``sample-0``, ``sample-1``, ..., so
they are the masks a run with the same seed would give images of those names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ..components import MaskGenerator
from ..errors import InpaintbenchError
from ..files.atomic import check_replaceable, write_atomically
from .draw import draw_masks

#: Hole-ratio buckets, half-open [lo, hi): below 1%, NVIDIA's six 10% buckets from 1% to 60%, above.
BUCKETS = ((0.0, 0.01), (0.01, 0.1), (0.1, 0.2), (0.2, 0.3), (0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (0.6, 1.01))
QUANTILES = (0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0)
COLUMNS = 8
GAP = 4
LABEL_HEIGHT = 16
#: The most mask pixels one regime's sample may hold: every mask is kept (and drawn into the preview
#: PNG), at about 20 ms each at 512 px, so 1024 masks at 512 px (4096 at 256) take well under a
#: minute and 256 MB; 100000 at 512 px would have taken half an hour and 26 GB without a word.
MAX_SAMPLE_PIXELS = 2**28


def check_sample(flag: str, n: int, size: int) -> None:
    """Refuse a sample of ``n`` masks of ``size`` px over ``MAX_SAMPLE_PIXELS``, naming the most allowed."""
    most = MAX_SAMPLE_PIXELS // (size * size)
    if n > most:
        raise InpaintbenchError(f"{flag} {n} is too many masks at {size} px ({most} at most)")


def sample_masks(generator: MaskGenerator, regime: str, n: int, size: int, seed: int) -> list[np.ndarray]:
    return list(draw_masks(generator, regime, seed, [f"sample-{i}" for i in range(n)], size).values())


def preview_grid(rows: list[tuple[str, list[np.ndarray]]], out: Path) -> None:
    """One labelled band per regime, its masks in rows of ``COLUMNS`` (white = hole), as a PNG."""
    size = rows[0][1][0].shape[0]
    width = GAP + COLUMNS * (size + GAP)
    band_heights = [LABEL_HEIGHT + -(-len(masks) // COLUMNS) * (size + GAP) for _, masks in rows]
    canvas = Image.new("L", (width, GAP + sum(band_heights)), 96)
    draw = ImageDraw.Draw(canvas)
    top = GAP
    for (regime, masks), band in zip(rows, band_heights, strict=True):
        ratios = [float(m.mean()) for m in masks]
        draw.text((GAP, top), f"{regime}   mean hole {np.mean(ratios):.1%}", fill=255)
        for i, mask in enumerate(masks):
            x = GAP + (i % COLUMNS) * (size + GAP)
            y = top + LABEL_HEIGHT + (i // COLUMNS) * (size + GAP)
            canvas.paste(Image.fromarray(mask.astype(np.uint8) * 255), (x, y))
        top += band
    try:
        write_atomically(out, lambda tmp: canvas.save(tmp, format="PNG"))
    except OSError as exc:  # a folder there, a file where a folder should be, a name too long
        raise InpaintbenchError(
            f"-o {out} cannot be written ({exc.strerror}): give a PNG file name"
        ) from None


def check_preview_out(out: Path) -> None:
    """``-o`` names a PNG file to write: a folder, a FIFO or a device is refused before any mask is
    drawn, and so is another suffix (``-o m.txt`` would be a PNG under a name that says otherwise)."""
    check_replaceable(out, "-o")
    if out.suffix.lower() != ".png":
        raise InpaintbenchError(f"-o {out}: the preview is a PNG image; give a file name ending in .png")


@dataclass
class MaskStats:
    regime: str
    n: int
    size: int
    ratios: np.ndarray
    mean_distance: float
    p95_distance: float
    all_hole: int

    def bucket_counts(self) -> list[tuple[str, int]]:
        counts = []
        for lo, hi in BUCKETS:
            label = f"[{lo:.2f}, {min(hi, 1.0):.2f}{']' if hi > 1 else ')'}"
            counts.append((label, int(((self.ratios >= lo) & (self.ratios < hi)).sum())))
        return counts

    def format(self) -> str:
        quantiles = zip(QUANTILES, np.quantile(self.ratios, QUANTILES), strict=True)
        lines = [
            f"{self.regime}: {self.n} masks at {self.size} px",
            f"  hole ratio  mean {self.ratios.mean():.4f}  std {self.ratios.std():.4f}",
            "  quantiles   " + "  ".join(f"{int(p * 100)}%: {v:.4f}" for p, v in quantiles),
            "  buckets     " + "  ".join(f"{label} {count}" for label, count in self.bucket_counts()),
            f"  distance of hole pixels to the nearest known pixel: mean {self.mean_distance:.2f} px, "
            f"95th percentile {self.p95_distance:.2f} px",
        ]
        if self.all_hole:
            lines.append(f"  ({self.all_hole} masks with no known pixel left out of the distances)")
        return "\n".join(lines)


def mask_stats(regime: str, masks: list[np.ndarray]) -> MaskStats:
    """Hole ratios, and the Euclidean distance from each hole pixel to the nearest known pixel."""
    from scipy.ndimage import distance_transform_edt

    distances = [distance_transform_edt(m)[m] for m in masks if m.any() and not m.all()]
    pooled = np.concatenate(distances) if distances else np.zeros(1)
    return MaskStats(
        regime=regime,
        n=len(masks),
        size=masks[0].shape[0],
        ratios=np.array([m.mean() for m in masks]),
        mean_distance=float(pooled.mean()),
        p95_distance=float(np.quantile(pooled, 0.95)),
        all_hole=sum(bool(m.all()) for m in masks),
    )
