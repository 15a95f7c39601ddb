"""Regenerate ``tests/data/lama_masks.csv``: hole ratios, component counts and crop positions of masks
drawn by LaMa's own generator, the reference the ``lama-*`` regimes are tested against.

It runs LaMa's ``bin/gen_mask_dataset.py`` (``process_images``, sequentially) with each
``configs/data_gen/random_{thin,medium,thick}_{256,512}.yaml`` on two kinds of source image: squares
at the preset's size, and 640 x 480 (4:3) images, which LaMa resizes to 341 x 256 or 683 x 512 and
then crops to a square around the mask. Nothing of LaMa's is copied here: the script imports the
checkout given on the command line, stubbing only the modules LaMa imports but the generator never
calls (pytorch_lightning's ``saicinpainting.utils``, the evaluator behind
``saicinpainting.evaluation.__init__``). It needs easydict, joblib and six besides numpy, scipy,
scikit-image, OpenCV, PyYAML and Pillow. Not run in CI::

    python benchmarks/lama_mask_sample.py --lama /path/to/advimman/lama --out tests/data/lama_masks.csv

Each (preset, source) group is seeded on its own, so groups made by separate runs (``--kinds thick``)
and concatenated equal a single run's.

Columns: kind, size (the preset), source (``square`` or ``4:3``), hole (the mask's hole ratio),
components (8-connected hole regions) and crop_left, where LaMa's square starts in the resized 4:3
image (found by matching the saved crop against the resized source, whose first row is noise; 0 for
squares). 4:3 sources are 341 or 683 px wide after LaMa's resize.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import subprocess
import sys
import tempfile
import types
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

KINDS = ("thin", "medium", "thick")
SIZES = (256, 512)
SOURCES = {"square": None, "4:3": (640, 480)}
CHUNK = 100  # images per process_images call; the outputs are read and deleted between calls
EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)


def import_lama(root: Path) -> types.ModuleType:
    """``bin/gen_mask_dataset.py`` of the checkout, with the unused heavy imports stubbed."""
    sys.path.insert(0, str(root))
    for name, folder in {
        "saicinpainting.evaluation": root / "saicinpainting" / "evaluation",  # skip its evaluator imports
    }.items():
        package = types.ModuleType(name)
        package.__path__ = [str(folder)]
        sys.modules[name] = package
    utils = types.ModuleType("saicinpainting.utils")
    utils.LinearRamp = None  # only used with ramp_kwargs, which the data_gen configs do not set
    sys.modules["saicinpainting.utils"] = utils
    spec = importlib.util.spec_from_file_location("gen_mask_dataset", root / "bin" / "gen_mask_dataset.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_sources(folder: Path, count: int, size: tuple[int, int], rng: np.random.Generator) -> Image.Image:
    """``count`` identical PNG sources (grey, first row noise) and the image itself."""
    pixels = np.full((size[1], size[0], 3), 128, dtype=np.uint8)
    pixels[0] = rng.integers(0, 256, (size[0], 3))
    image = Image.fromarray(pixels)
    folder.mkdir(parents=True)
    for i in range(count):
        image.save(folder / f"{i:05d}.png")
    return image


def crop_left(crop: np.ndarray, resized: np.ndarray) -> int:
    """The column of ``resized`` where the saved square ``crop`` starts (row 0 matched exactly)."""
    width = crop.shape[1]
    hits = [
        x for x in range(resized.shape[1] - width + 1) if np.array_equal(resized[0, x : x + width], crop[0])
    ]
    if len(hits) != 1:
        raise RuntimeError(f"crop position ambiguous or not found: {hits}")
    return hits[0]


def sample(gen: types.ModuleType, config_path: Path, source: tuple[int, int] | None, size: int, n: int):
    """Rows (hole, components, crop_left) for ``n`` source images under one config."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        indir, outdir = Path(tmp) / "in", Path(tmp) / "out"
        image = write_sources(indir, n, source or (size, size), np.random.default_rng(0))
        factor = size / min(image.size)  # LaMa's resize, to locate its crops
        resized = np.asarray(image.resize(tuple((np.array(image.size) * factor).round().astype("uint32")), 3))
        files = sorted(str(p) for p in indir.iterdir())
        for start in range(0, n, CHUNK):
            config = gen.load_yaml(str(config_path))  # process_images pops variants_n: reload every call
            gen.process_images(files[start : start + CHUNK], str(indir) + "/", str(outdir) + "/", config)
            for mask_path in sorted(outdir.glob("*_mask*.png")):
                mask = np.asarray(Image.open(mask_path)) > 127
                crop = np.asarray(Image.open(str(mask_path).rsplit("_mask", 1)[0] + ".png").convert("RGB"))
                components = ndimage.label(mask, structure=EIGHT_CONNECTED)[1]
                rows.append((float(mask.mean()), components, crop_left(crop, resized)))
                mask_path.unlink()
            for leftover in outdir.iterdir():
                leftover.unlink()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lama", type=Path, required=True, help="a checkout of advimman/lama")
    parser.add_argument("--out", type=Path, default=Path("tests/data/lama_masks.csv"))
    parser.add_argument("--n", type=int, default=1200, help="source images per preset and source shape")
    parser.add_argument("--seed", type=int, default=0, help="np.random.seed before each preset")
    parser.add_argument(
        "--kinds", nargs="+", choices=KINDS, default=list(KINDS), help="a subset, to run in parallel"
    )
    args = parser.parse_args()
    commit = subprocess.run(
        ["git", "-C", str(args.lama), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    gen = import_lama(args.lama.resolve())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", newline="") as f:
        writer = csv.writer(f)
        f.write(f"# LaMa {commit or 'unknown commit'}, {args.n} sources per row group, seed {args.seed}\n")
        writer.writerow(["kind", "size", "source", "hole", "components", "crop_left"])
        for kind in args.kinds:
            for size in SIZES:
                for source_name, source in SOURCES.items():
                    np.random.seed(args.seed)
                    config = args.lama / "configs" / "data_gen" / f"random_{kind}_{size}.yaml"
                    for hole, components, left in sample(gen, config, source, size, args.n):
                        writer.writerow([kind, size, source_name, f"{hole:.6f}", components, left])
                    print(f"{kind}-{size} {source_name}: done", file=sys.stderr)


if __name__ == "__main__":
    main()
