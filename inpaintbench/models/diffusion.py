"""``diffusers:DIR``: a local diffusers inpainting pipeline folder (Stable Diffusion, SDXL, Kandinsky
inpaint, ...) run in-process, an optional extra (``pip install inpaintbench[diffusers]``).

The pipeline runs at its own resolution (by default its UNet's sample size times the VAE's factor,
512 for Stable Diffusion 1.5/2 inpainting, 1024 for SDXL): the sealed image is resized to it (bilinear,
antialiased), the mask by nearest neighbour, and the output back to the run's size; run.json states
both sizes. Each image's noise comes from its own CPU generator seeded from (run seed, ``seed``,
regime, image id), as masks are, so reruns reproduce and an image's result does not depend on its
batch-mates or the device's generator. Options follow ``?`` as for model files: ``prompt`` (default
empty), ``negative``, ``steps``, ``guidance``, ``strength``, ``seed``, ``size``, ``precision``,
``batch``. The folder is read with ``local_files_only``: nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import inspect
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..cache import sha256_file
from ..components import Batch, Model, PrepareContext
from ..errors import InpaintbenchError, one_line
from ..seeding import stable_seed
from .conventions import OptionReader, refuse_unknown, resize, resize_mask, split_query
from .files import probe_batch

if TYPE_CHECKING:
    import torch

OPTIONS = {
    "prompt": "the text prompt (default empty: unconditional inpainting)",
    "negative": "the negative prompt (default none)",
    "steps": "denoising steps (default 50)",
    "guidance": "classifier-free guidance scale (default 7.5)",
    "strength": "how far the hole is noised, in (0, 1] (default 1.0)",
    "seed": "combined with the run's --seed into each image's generator (default 0)",
    "size": "the pipeline's resolution, a multiple of 8 (default: its own)",
    "precision": "fp32 (default), fp16 or bf16",
    "batch": "N: at most N images per pipeline call (default: the run's --batch-size)",
}


class DiffusersModel(Model):
    name = "diffusers"
    description = "a local diffusers inpainting pipeline folder (pip install inpaintbench[diffusers])"
    argument = (
        "DIR?KEY=VALUE&...: a pipeline folder (save_pretrained), then prompt, steps, ... (docs/models.md)"
    )

    def __init__(self, arg: str | None = None) -> None:
        super().__init__(arg)
        path, given = split_query(self.name, arg)
        refuse_unknown(self.spec, given, OPTIONS)
        self.root = Path(path).expanduser().absolute()
        if not (self.root / "model_index.json").is_file():
            raise InpaintbenchError(
                f"model '{self.spec}': {self.root} is no diffusers pipeline folder (no model_index.json)"
            )
        self.given = given
        read = OptionReader(self.spec, given)
        self.prompt = given.get("prompt", "")
        self.negative = given.get("negative") or None
        self.steps = read.integer("steps", 50, low=1)
        self.guidance = read.number("guidance", 7.5)
        self.strength = read.number("strength", 1.0)
        if not 0 < self.strength <= 1:
            raise InpaintbenchError(f"model '{self.spec}': strength={self.strength} is not in (0, 1]")
        self.seed = read.integer("seed", 0, low=0)
        self.size = read.integer("size", None, low=8)
        if self.size is not None and self.size % 8:
            raise InpaintbenchError(f"model '{self.spec}': size={self.size} is not a multiple of 8")
        self.precision = read.choice("precision", "fp32", ("fp32", "fp16", "bf16"))
        self.batch = read.integer("batch", None, low=1)
        self.run_seed = 0
        self.pipe: Any = None
        self.resolution = 0
        self.image_size = 0
        self._device: torch.device | None = None
        self._digest: tuple[str, int, int] | None = None

    # -- loading ------------------------------------------------------------------------------------
    def check(self, device: torch.device, image_size: int) -> None:
        """Load the pipeline and run one denoising step on one image at its resolution."""
        self._load(device)
        self.image_size = image_size
        probe = probe_batch(image_size, device)
        probe = Batch(probe.images[:1], probe.masks[:1], probe.image_ids[:1], probe.regime)
        try:
            out = self._run(probe, steps=1)
        except Exception as exc:
            raise InpaintbenchError(
                f"{self.root}: one step on the probe image failed: {one_line(exc)}"
            ) from None
        if tuple(out.shape) != tuple(probe.images.shape):
            raise InpaintbenchError(
                f"{self.root} returned shape {tuple(out.shape)}, expected {tuple(probe.images.shape)}"
            )

    def prepare(self, ctx: PrepareContext) -> None:
        self.run_seed = ctx.seed
        self.image_size = ctx.image_size
        if self.pipe is None or self._device != ctx.device:
            self._load(ctx.device)

    def _load(self, device: torch.device) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a folder is read; a hub is never asked
        try:
            import torch
            from diffusers import DiffusionPipeline
            from diffusers.utils import logging as diffusers_logging
            from transformers.utils import logging as transformers_logging
        except ImportError as exc:
            raise InpaintbenchError(
                f"model '{self.name}' needs diffusers and transformers: "
                f"pip install 'inpaintbench[diffusers]' ({exc})"
            ) from None
        for logging in (diffusers_logging, transformers_logging):  # the run's own lines, not theirs
            logging.set_verbosity_error()
            logging.disable_progress_bar()
        dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[self.precision]
        try:
            pipe = DiffusionPipeline.from_pretrained(self.root, local_files_only=True, dtype=dtype)
        except Exception as exc:
            raise InpaintbenchError(
                f"{self.root} does not load as a diffusers pipeline: {one_line(exc)}"
            ) from None
        if "mask_image" not in inspect.signature(pipe.__call__).parameters:
            raise InpaintbenchError(
                f"{self.root} holds a {type(pipe).__name__}, not an inpainting pipeline "
                "(it takes no mask_image)"
            )
        taken = inspect.signature(pipe.__call__).parameters
        for option, parameter in (("negative", "negative_prompt"), ("strength", "strength")):
            if option in self.given and parameter not in taken:
                raise InpaintbenchError(
                    f"model '{self.spec}': {type(pipe).__name__} takes no {parameter}, "
                    f"so {option}= is refused"
                )
        pipe.set_progress_bar_config(disable=True)
        self.pipe = pipe.to(device)
        self.resolution = self.size or _native_size(pipe)
        self._device = device

    # -- running ------------------------------------------------------------------------------------
    def inpaint(self, batch: Batch) -> torch.Tensor:
        import torch

        step = self.batch or len(batch.image_ids)
        parts = [
            self._run(
                Batch(
                    batch.images[k : k + step],
                    batch.masks[k : k + step],
                    batch.image_ids[k : k + step],
                    batch.regime,
                )
            )  # fmt: skip
            for k in range(0, len(batch.image_ids), step)
        ]
        return parts[0] if len(parts) == 1 else torch.cat(parts)

    def _run(self, batch: Batch, steps: int | None = None) -> torch.Tensor:
        import torch

        if self.pipe is None:
            raise InpaintbenchError(f"{self.spec} was not prepared")
        size = (self.resolution, self.resolution)
        height, width = batch.images.shape[-2:]
        images, masks = resize(batch.images, size), resize_mask(batch.masks, size)
        generators = [
            torch.Generator().manual_seed(stable_seed(self.run_seed, self.seed, batch.regime, i) % 2**63)
            for i in batch.image_ids
        ]
        n = len(batch.image_ids)
        optional = {"negative_prompt": None if self.negative is None else [self.negative] * n}
        if self.strength != 1.0:
            optional["strength"] = self.strength
        result = self.pipe(
            prompt=[self.prompt] * n,
            image=images,
            mask_image=masks,
            height=size[0],
            width=size[1],
            num_inference_steps=steps or self.steps,
            guidance_scale=self.guidance,
            generator=generators,
            output_type="pt",
            **{key: value for key, value in optional.items() if value is not None},
        )
        out = result.images.to(device=batch.images.device, dtype=torch.float32)
        if out.shape[-2:] != (height, width):
            out = resize(out, (height, width))
        return out

    # -- what is recorded ---------------------------------------------------------------------------
    def source(self, regime: str) -> str:
        return f"{self.root} sha256:{self._fingerprint()[0]}"

    def provenance(self) -> dict[str, Any]:
        import diffusers

        digest, size, files = self._fingerprint()
        pipeline = type(self.pipe).__name__ if self.pipe is not None else ""
        return {
            "folder": str(self.root),
            "format": f"diffusers pipeline ({pipeline})",
            "sha256": digest,
            "sha256_of": "the sha256sum listing of every file under the folder, sorted by path",
            "bytes": size,
            "files": files,
            "scheduler": type(self.pipe.scheduler).__name__ if self.pipe is not None else "",
            "resolution": self.resolution,
            "resized_from": self.image_size,
            "prompt": self.prompt,
            "negative": self.negative,
            "steps": self.steps,
            "guidance": self.guidance,
            "strength": self.strength,
            "seed": self.seed,
            "precision": self.precision,
            "device": str(self._device),
            "runtime": {"diffusers": diffusers.__version__},
            "labels": [
                f"{pipeline} at {self.resolution} px (resized from {self.image_size}), {self.steps} steps, "
                f"guidance {self.guidance:g}, sha256 {digest[:12]}"
            ],
        }

    def _fingerprint(self) -> tuple[str, int, int]:
        """sha256 of the folder's ``sha256sum`` listing, its bytes and its number of files (once)."""
        if self._digest is None:
            files = sorted(p for p in self.root.rglob("*") if p.is_file())
            listing = "".join(f"{sha256_file(p)}  {p.relative_to(self.root).as_posix()}\n" for p in files)
            size = sum(p.stat().st_size for p in files)
            self._digest = hashlib.sha256(listing.encode()).hexdigest(), size, len(files)
        return self._digest


def _native_size(pipe: Any) -> int:
    """The resolution the pipeline was trained at: its UNet's sample size times the VAE's factor."""
    unet = getattr(pipe, "unet", None)
    sample = getattr(getattr(unet, "config", None), "sample_size", None)
    factor = getattr(pipe, "vae_scale_factor", 8)
    if isinstance(sample, (list, tuple)):
        sample = sample[0]
    return int(sample * factor) if isinstance(sample, int) else 512
