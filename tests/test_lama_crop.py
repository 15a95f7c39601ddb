"""``places365:PATH?crop=lama-KIND:SIZE``: LaMa's draw-then-crop protocol on synthetic 4:3 sources. The
distributions of its masks and crop positions are tested against LaMa's in ``test_lama_reference``."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import PLACES_NAMES
from PIL import Image

from inpaintbench.errors import InpaintbenchError
from inpaintbench.images import resize_short_side, to_float_rgb
from inpaintbench.masks.lama import LamaThick
from inpaintbench.plugins import build_registry
from inpaintbench.seeding import mask_rng

REGIME = "lama-thick:256"


def dataset(places, query: str = ""):
    return build_registry().get("dataset", f"places365:{places}{query}")


def resized_source(places, name: str) -> np.ndarray:
    """The source with its short side at 256 px (341 x 256), as both protocols start from it."""
    return to_float_rgb(resize_short_side(Image.open(places / "val_large" / name).convert("RGB"), 256))


def test_each_square_is_cut_where_the_mask_puts_it(places):
    ds = dataset(places, f"?crop={REGIME}")
    assert ds.spec.endswith(f"?crop={REGIME}")
    for sample in ds.samples("test", 256):
        full = resized_source(places, sample.image_id)
        mask, start = LamaThick("256").generate_cropped(mask_rng(0, REGIME, sample.image_id), 256, 341)
        assert np.array_equal(sample.image, full[:, start : start + 256])
        assert np.array_equal(ds.frozen_mask(REGIME, sample.image_id), mask)
        assert ds.frozen_mask("lama-thick", sample.image_id) is None  # other regimes are drawn by the run
        assert mask.mean() <= 0.5


def test_the_seed_option_changes_masks_and_the_default_stays_the_centre_crop(places):
    first = {s.image_id: s.image for s in dataset(places, f"?crop={REGIME}").samples("test", 256)}
    again = {s.image_id: s.image for s in dataset(places, f"?crop={REGIME}").samples("test", 256)}
    other = {s.image_id: s.image for s in dataset(places, f"?crop={REGIME}&seed=1").samples("test", 256)}
    assert all(np.array_equal(first[k], again[k]) for k in PLACES_NAMES)
    assert any(not np.array_equal(first[k], other[k]) for k in PLACES_NAMES)
    plain = dataset(places)
    centre = next(plain.samples("test", 256))
    assert np.array_equal(centre.image, resized_source(places, PLACES_NAMES[0])[:, 42:298])
    assert plain.frozen_mask(REGIME, PLACES_NAMES[0]) is None


@pytest.mark.parametrize(
    ("query", "message"),
    [("?crop=lama-thick", "with its preset"), ("?crop=center", "LaMa regime"), ("?size=3", "options are"),
     (f"?crop={REGIME}&seed=x", "integer")],
)  # fmt: skip
def test_bad_options_are_refused(places, query, message):
    with pytest.raises(InpaintbenchError, match=message):
        dataset(places, query)


def test_a_run_scores_on_the_protocols_masks(places, tmp_path, cli):
    out = tmp_path / "run"
    result = cli(
        "run", "--model", "mean_fill", "--masks", f"{REGIME},center",
        "--dataset", f"places365:{places}?crop={REGIME}", "--image-size", "256", "--limit", "3",
        "--metrics", "psnr", "--out", str(out), "--no-progress",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    ds = dataset(places, f"?crop={REGIME}")
    expected = {s.image_id: ds.frozen_mask(REGIME, s.image_id).mean() for s in ds.samples("test", 256)}
    rows = [r.split(",") for r in (out / "results.csv").read_text().splitlines()]
    header = rows[0]
    ratios = {r[header.index("image")]: float(r[header.index("hole_ratio")]) for r in rows[1:] if REGIME in r}
    assert len(ratios) == 3
    assert all(ratios[k] == pytest.approx(expected[k], abs=1e-6) for k in ratios)
