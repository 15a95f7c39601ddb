"""The ``lama-*`` regimes against a sample from LaMa's own generator (``tests/data/lama_masks.csv``,
made by ``benchmarks/lama_mask_sample.py``): two-sample KS tests on the hole ratio, the number of
hole regions and, for 4:3 sources, where the square crop starts."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage
from scipy.stats import ks_2samp

from inpaintbench.masks.lama import LamaMedium, LamaThick, LamaThin
from inpaintbench.seeding import mask_rng

SAMPLE = Path(__file__).parent / "data" / "lama_masks.csv"
REGIMES = {"thin": LamaThin, "medium": LamaMedium, "thick": LamaThick}
N_OURS = 1200
MIN_P = 0.01
EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)


def load_sample() -> dict[tuple[str, int, str], dict[str, np.ndarray]]:
    columns: dict[tuple[str, int, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    with SAMPLE.open() as f:
        for row in csv.DictReader(line for line in f if not line.startswith("#")):
            group = columns[(row["kind"], int(row["size"]), row["source"])]
            for key in ("hole", "components", "crop_left"):
                group[key].append(float(row[key]))
    return {key: {k: np.array(v) for k, v in group.items()} for key, group in columns.items()}


REFERENCE = load_sample()


def describe(mask: np.ndarray) -> tuple[float, int]:
    return float(mask.mean()), ndimage.label(mask, structure=EIGHT_CONNECTED)[1]


def draw_ours(kind: str, size: int, source: str) -> dict[str, np.ndarray]:
    """N_OURS masks as LaMa's sample was made: on the square, or on the 4:3 image resized to ``size``
    (as LaMa resizes a 640 x 480 source) and then cropped."""
    generator = REGIMES[kind](str(size))
    spec = f"lama-{kind}:{size}"
    rows = []
    for i in range(N_OURS):
        rng = mask_rng(0, spec, f"img-{i}")
        if source == "square":
            mask, start = generator.generate(rng, size, size), 0
        else:
            mask, start = generator.generate_cropped(rng, size, round(640 * size / 480))
        rows.append((*describe(mask), start))
    hole, components, crop_left = (np.array(column) for column in zip(*rows, strict=True))
    return {"hole": hole, "components": components, "crop_left": crop_left}


def test_the_sample_covers_every_preset():
    assert set(REFERENCE) == {(k, s, src) for k in REGIMES for s in (256, 512) for src in ("square", "4:3")}
    assert all(len(group["hole"]) >= 1000 for group in REFERENCE.values())


@pytest.mark.slow
@pytest.mark.parametrize("source", ["square", "4:3"])
@pytest.mark.parametrize("size", [256, 512])
@pytest.mark.parametrize("kind", list(REGIMES))
def test_distributions_match_lamas_generator(kind, size, source):
    ours, theirs = draw_ours(kind, size, source), REFERENCE[(kind, size, source)]
    keys = ("hole", "components") + (("crop_left",) if source == "4:3" else ())
    p_values = {key: ks_2samp(ours[key], theirs[key]).pvalue for key in keys}
    assert min(p_values.values()) > MIN_P, p_values
    assert ours["hole"].max() <= 0.5
