"""Does scoring predictions made elsewhere run at the speed of reading their PNGs?

Exports the ``samples`` test crops (``--size`` px, ``--masks``), writes each blanked input back as its
own "prediction" (``NAME_mask000.png``, LaMa's naming), then, in one process and interleaved over
``--rounds``: (a) decodes every prediction file with Pillow, one after another, as the floor; (b) runs
``--model predictions:DIR --metrics psnr --no-images`` and takes the model's evaluation time from
run.json. Prints milliseconds per image of each and their ratio (median over rounds).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from PIL import Image

from inpaintbench.export import export
from inpaintbench.runner.run import RunConfig, Runner


def decode_all(files: list[Path]) -> float:
    t0 = time.perf_counter()
    for path in files:
        with Image.open(path) as im:
            im.convert("RGB").load()
    return time.perf_counter() - t0


def score(pred: Path, out: Path, masks: list[str], size: int) -> float:
    shutil.rmtree(out, ignore_errors=True)
    config = RunConfig(
        models=[f"predictions:{pred}"], masks=masks, metrics=["psnr"], image_size=size, save_images=False
    )
    Runner(config, out, [], progress=False, log=lambda _: None).execute()
    return sum(
        json.loads((out / "run.json").read_text())["timings"]["eval_s"][f"predictions:{pred}"].values()
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--masks", default="center,random")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    masks = args.masks.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        export("samples", masks, args.size, 0, None, root / "export")
        pred = root / "pred"
        for image in (root / "export").glob("*/*.png"):
            if not image.stem.endswith("_mask000"):
                target = pred / image.parent.name / f"{image.stem}_mask000.png"
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(image, target)
        files = sorted(pred.glob("*/*.png"))
        decode, model = [], []
        for _ in range(args.rounds):
            decode.append(decode_all(files) / len(files) * 1e3)
            model.append(score(pred, root / "run", masks, args.size) / len(files) * 1e3)
    d, m = statistics.median(decode), statistics.median(model)
    print(f"{len(files)} prediction files at {args.size} px, {args.rounds} rounds (median):")
    print(f"  Pillow decode alone          {d:.2f} ms/image")
    print(f"  predictions: model in a run  {m:.2f} ms/image  ({m / d:.2f}x the decode)")


if __name__ == "__main__":
    main()
