"""Frozen evaluation sets: the exact images and masks of an evaluation, with a hash of every file.

``inpaintbench freeze`` writes a folder anyone can evaluate on with ``--dataset evalset:DIR``:

    DIR/manifest.json                    what is below, and how it was made
    DIR/images/target/<key>.png          each test image at the set's size (8-bit RGB PNG)
    DIR/images/masks/<regime>/<key>.png  each mask, white = hole (8-bit PNG)

File names follow the run folder layout (``inpaintbench.files.layout``), so a run's ``images/``
and a frozen set hold the same file for the same image and mask. Masks come from
``masks.draw.masked_samples``, as a run gets them, so the set's masks equal a run's for the same seed.
Images are stored as 8-bit PNG: the dataset's images rounded to 1/255, the values every model is
then scored on. The manifest is written last, so a set without one is incomplete.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .cache import sha256_file
from .components import Dataset, MaskGenerator
from .datasets.evalset import FORMAT, MANIFEST
from .errors import InpaintbenchError
from .files import layout
from .files.atomic import kind, writing
from .images import write_png
from .runner.plan.bounds import check_names

if TYPE_CHECKING:
    from .plugins import Registry


def freeze(
    dataset_spec: str, masks: list[str], image_size: int, seed: int, limit: int | None, out: Path
) -> dict[str, Any]:
    """Write the set into ``out`` (new or empty) and return its manifest."""
    from .masks.draw import masked_samples
    from .plugins import get_registry

    registry = get_registry()
    dataset = registry.get("dataset", dataset_spec)
    generators = mask_generators(registry, masks)
    claim_new_folder(out)
    images: list[dict[str, Any]] = []
    regimes: dict[str, dict[str, Any]] = {
        spec: {"generator": describe_generator(gen, image_size), "masks": []}
        for spec, gen in generators.items()
    }
    for sample, drawn in masked_samples(dataset, generators, seed, image_size, limit):
        images.append(
            {"id": sample.image_id, "source": _source(dataset, sample.image_id)}
            | ({"scene": scene} if (scene := dataset.source_of(sample.image_id)) else {})
            | write_hashed_png(out, layout.target_png(out, sample.image_id), sample.image)
        )
        for spec, mask in drawn.items():
            entry = write_hashed_png(
                out, layout.mask_png(out, spec, sample.image_id), mask.astype(np.float32)
            )
            regimes[spec]["masks"].append({"id": sample.image_id, **entry, "hole_ratio": float(mask.mean())})
    manifest = manifest_header(FORMAT, dataset, image_size, seed, limit) | {
        "images": images,
        "regimes": regimes,
    }
    write_manifest(out, manifest)
    return manifest


def mask_generators(registry: Registry, specs: list[str]) -> dict[str, MaskGenerator]:
    """Every regime of ``--masks``, resolved before any work."""
    check_names("--masks", specs)
    return {spec: registry.get("mask", spec) for spec in specs}


def claim_new_folder(out: Path) -> None:
    """Refuse an ``--out`` that holds anything (a set mixed with older files could not be trusted), or
    that cannot be created, then create it: both before any image is read."""
    found = kind(out, "--out")  # a name the system cannot look up is one line too
    if found == "file" or (found == "folder" and any(out.iterdir())):
        raise InpaintbenchError(f"--out {out} exists and is not an empty folder: choose a new one")
    above = next((p for p in out.parents if kind(p, "--out") is not None), None)
    if found is None and above is not None and kind(above, "--out") == "file":
        raise InpaintbenchError(f"--out {out}: {above} is a file, not a folder: choose another place")
    try:
        with writing(out):
            out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InpaintbenchError(
            f"--out {out} cannot be created ({exc.strerror}): choose another place"
        ) from None


def manifest_header(
    fmt: str, dataset: Dataset, image_size: int, seed: int, limit: int | None
) -> dict[str, Any]:
    """What every manifest starts with: its format, who wrote it and from which data and seed."""
    from .plugins import get_registry
    from .version import __version__

    return {
        "format": fmt,
        "inpaintbench_version": __version__,
        "plugins": get_registry().plugin_versions(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "dataset": {"spec": dataset.spec, "split": "test", "skipped_inputs": dataset.skipped},
        "image_size": image_size,
        "seed": seed,
        "limit": limit,
    }


def write_manifest(out: Path, manifest: dict[str, Any]) -> None:
    """Written last and atomically, so a folder without a manifest is known to be incomplete."""
    tmp = out / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=1))
    os.replace(tmp, out / MANIFEST)


def write_hashed_png(root: Path, path: Path, pixels: np.ndarray) -> dict[str, str]:
    """Write a PNG below ``root``; its manifest entry: the path relative to ``root`` and its sha256."""
    write_png(path, pixels)
    return {"file": path.relative_to(root).as_posix(), "sha256": sha256_file(path)}


def describe_generator(generator: MaskGenerator, size: int) -> dict[str, Any]:
    """The generator's identity and, where it tells them, its parameters at this size."""
    cls = type(generator)
    return {
        "name": generator.name,
        "arg": generator.arg,
        "class": f"{cls.__module__}.{cls.__qualname__}",
        "description": generator.description,
        "parameters": generator.parameters(size, size),
    }


def _source(dataset: Dataset, image_id: str) -> str:
    """The file an image came from where the dataset reads files, else its id."""
    path = dataset.source_path(image_id)
    return image_id if path is None else str(path)
