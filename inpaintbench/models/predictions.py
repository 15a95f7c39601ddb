"""``predictions:DIR``: score image files a model wrote elsewhere, as if that model ran here.

For every image of a batch the file ``DIR/<regime folder>/NAME_mask000.png`` (LaMa's predict.py
naming) or ``NAME.png`` is read, with the names of ``inpaintbench.exchange`` (the layout ``inpaintbench
export`` writes; NAME carries a digest of the image's mask in this run, so a file made for another
mask is never scored); ``.tif``, ``.tiff`` and ``.bmp`` are read too, lossy formats never. 8- and 16-bit
files are read with Pillow as a dataset's images are (grey promoted to RGB, alpha dropped); Pillow
reads a PNG with 16 bits per colour channel at 8 bits (the high byte), 16-bit grey at full precision.
A missing, unreadable or wrongly sized file fails the batch with one line naming it.

Provenance: the folder, and per regime the number of files read and one sha256 over them (the
``sha256sum`` lines ``HASH  REGIME_FOLDER/FILE``, sorted by path, each ending in a newline), since a
name -> hash entry per file would make run.json and the report it is shown in as long as the test
set; plus every file under DIR that was not read (predictions for images or regimes the run never
asked for, or that a resumed run had already scored), the first ``LISTED`` of them by name.
"""

from __future__ import annotations

import hashlib
import io
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..components import Model, PrepareContext
from ..errors import InpaintbenchError
from ..exchange import MASK_SUFFIX, image_name, image_stem, prediction_candidates, regime_folder
from ..images import read_image, to_float_rgb

if TYPE_CHECKING:
    import torch

    from ..components import Batch

#: How many unread files provenance names (all are counted).
LISTED = 50


class Predictions(Model):
    name = "predictions"
    description = "reads predictions made elsewhere from DIR (the layout inpaintbench export writes)"
    argument = "DIR of <regime folder>/NAME_mask000.png (or NAME.png) per image, named as export names them"

    def __init__(self, arg: str | None = None) -> None:
        super().__init__(arg)
        if not arg:
            raise InpaintbenchError("model 'predictions' needs a folder: predictions:DIR")
        self.root = Path(arg).expanduser().resolve()
        if not self.root.is_dir():
            raise InpaintbenchError(f"predictions:{arg}: {self.root} is not a folder")
        if (self.root / "manifest.json").is_file():
            raise InpaintbenchError(
                f"predictions:{arg}: {self.root} holds a manifest.json, so it is an export or evaluation "
                "set (the inputs), not a folder of predictions"
            )
        self._listings: dict[str, set[str] | None] = {}  # regime folder -> its file names (None: absent)
        self._read: dict[str, dict[str, str]] = {}  # regime -> {path relative to DIR: sha256}

    def prepare(self, ctx: PrepareContext) -> None:
        expected = {regime_folder(regime) for regime in ctx.regimes}
        for folder in sorted(p.name for p in self.root.iterdir() if p.is_dir()):
            if folder not in expected:
                ctx.log(
                    f"warning: {self.spec}: folder {folder} is no regime of this run "
                    f"({', '.join(f'{r} -> {regime_folder(r)}' for r in ctx.regimes)}); it is not read"
                )

    def inpaint(self, batch: Batch) -> torch.Tensor:
        import torch

        holes = (batch.masks[:, 0] > 0.5).cpu().numpy()
        paths = [
            self._locate(batch.regime, image_id, hole)
            for image_id, hole in zip(batch.image_ids, holes, strict=True)
        ]
        size = tuple(batch.images.shape[-2:])
        with ThreadPoolExecutor(max_workers=min(len(paths), os.cpu_count() or 1)) as pool:
            loaded = list(pool.map(lambda path: _load(path, size), paths))
        read = self._read.setdefault(batch.regime, {})
        for path, (_, digest) in zip(paths, loaded, strict=True):
            read[path.relative_to(self.root).as_posix()] = digest
        out = torch.from_numpy(np.stack([pixels for pixels, _ in loaded])).permute(0, 3, 1, 2)
        return out.to(batch.images.device)

    def _locate(self, regime: str, image_id: str, hole: np.ndarray) -> Path:
        """The file of the image's prediction for exactly this mask; each folder is listed once, not
        probed per candidate name."""
        folder = self.root / regime_folder(regime)
        if folder.name not in self._listings:
            self._listings[folder.name] = set(os.listdir(folder)) if folder.is_dir() else None
        names = self._listings[folder.name]
        if names is None:
            raise InpaintbenchError(
                f"no folder {folder} for regime '{regime}' (export names each regime's folder so)"
            )
        name = image_name(image_id, hole)
        found = next((file for file in prediction_candidates(name) if file in names), None)
        if found is not None:
            return folder / found
        expected = f"no prediction for image '{image_id}' under regime '{regime}': expected {folder / name}"
        stem = image_stem(image_id)
        other = next((file for file in sorted(names) if file.startswith(f"{stem}-")), None)
        if other is not None:
            raise InpaintbenchError(
                f"{expected}{MASK_SUFFIX}.png, but {other} was made for another mask of this image: "
                "export and run must use the same dataset, --image-size and --seed"
            )
        raise InpaintbenchError(f"{expected}{MASK_SUFFIX}.png or {name}.png (.tif, .tiff, .bmp are read too)")

    def source(self, regime: str) -> str:
        return str(self.root / regime_folder(regime))

    def provenance(self) -> dict[str, Any]:
        read = {rel for files in self._read.values() for rel in files}
        unread = sorted(
            rel
            for rel in (p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file())
            if rel not in read and not any(part.startswith(".") for part in rel.split("/"))
        )
        return {
            "folder": str(self.root),
            "read": {
                regime: {"folder": regime_folder(regime), "files": len(files), "sha256": _listing_sha(files)}
                for regime, files in self._read.items()
            },
            "unread": {"count": len(unread), "files": unread[:LISTED]},
        }


def _load(path: Path, size: tuple[int, ...]) -> tuple[np.ndarray, str]:
    """float32 H x W x 3 in [0, 1] and the file's sha256, from one read of its bytes."""
    try:
        data = path.read_bytes()
        pixels = to_float_rgb(read_image(io.BytesIO(data)))
    except Exception as exc:
        raise InpaintbenchError(f"{path} cannot be read as an image: {type(exc).__name__}: {exc}") from exc
    if pixels.shape[:2] != size:
        raise InpaintbenchError(
            f"{path} is {pixels.shape[1]} x {pixels.shape[0]} px, expected {size[1]} x {size[0]} "
            "(the run's --image-size)"
        )
    return pixels, hashlib.sha256(data).hexdigest()


def _listing_sha(files: dict[str, str]) -> str:
    """sha256 of the ``sha256sum`` listing of ``files`` (relative path -> sha256), sorted by path."""
    listing = "".join(f"{files[rel]}  {rel}\n" for rel in sorted(files))
    return hashlib.sha256(listing.encode()).hexdigest()
