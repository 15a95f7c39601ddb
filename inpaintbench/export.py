"""``inpaintbench export``: the sealed inputs of a run as files, for a model that runs elsewhere.

Each regime gets a folder (``exchange.regime_folder``) holding, per image, ``NAME.png`` (the image
with every hole pixel set to ``HOLE_VALUE``, as a model's ``Batch`` holds it) and
``NAME_mask000.png`` (white = hole): the layout LaMa's ``bin/predict.py`` reads, whose output folder
``predictions:DIR`` then scores; NAME carries a digest of the mask, so a prediction is only ever scored
against the mask it was made for. The ground truth inside the holes is written nowhere. Masks are the
run's (``masks.draw.masked_samples``: an evaluation set's frozen masks, else drawn from the seed), so
a run with the same dataset, size and seed scores on exactly these masks. Like ``freeze``, images are
8-bit PNG: the known pixels are the dataset's rounded to 1/255. ``manifest.json`` comes last.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .components import HOLE_VALUE
from .exchange import MASK_SUFFIX, image_name, regime_folder
from .frozen import (
    claim_new_folder,
    describe_generator,
    manifest_header,
    mask_generators,
    write_hashed_png,
    write_manifest,
)

FORMAT = "inpaintbench-export/1"


def export(
    dataset_spec: str, masks: list[str], image_size: int, seed: int, limit: int | None, out: Path
) -> dict[str, Any]:
    """Write the blanked images and masks into ``out`` (new or empty) and return the manifest."""
    from .masks.draw import masked_samples
    from .plugins import get_registry

    registry = get_registry()
    dataset = registry.get("dataset", dataset_spec)
    generators = mask_generators(registry, masks)
    claim_new_folder(out)
    regimes: dict[str, dict[str, Any]] = {
        spec: {
            "folder": regime_folder(spec),
            "generator": describe_generator(gen, image_size),
            "images": [],
        }
        for spec, gen in generators.items()
    }
    for sample, drawn in masked_samples(dataset, generators, seed, image_size, limit):
        for spec, mask in drawn.items():
            name = image_name(sample.image_id, mask)
            folder = out / regimes[spec]["folder"]
            blanked = np.where(mask[:, :, None], np.float32(HOLE_VALUE), sample.image)
            regimes[spec]["images"].append(
                {
                    "id": sample.image_id,
                    "name": name,
                    "input": write_hashed_png(out, folder / f"{name}.png", blanked),
                    "mask": write_hashed_png(
                        out, folder / f"{name}{MASK_SUFFIX}.png", mask.astype(np.float32)
                    ),
                    "hole_ratio": float(mask.mean()),
                }
            )
    manifest = manifest_header(FORMAT, dataset, image_size, seed, limit) | {
        "hole_value": HOLE_VALUE,
        "regimes": regimes,
    }
    write_manifest(out, manifest)
    return manifest
