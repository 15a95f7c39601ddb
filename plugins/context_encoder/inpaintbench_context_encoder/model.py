"""The registered model: picks, trains or loads the network each mask regime needs, and inpaints.

Imported when the registry is built, so torch and the training code are imported inside methods.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from inpaintbench import Batch, InpaintbenchError, Model, PrepareContext, get_registry

from .config import TrainConfig, config_from_options, default_views, views_option

if TYPE_CHECKING:
    import torch

    from .checkpoint import Checkpoint
    from .data import TrainingImages
    from .networks import Generator


def network_output(mode: str, overlap: int) -> str:
    """What the network contributes to an inpainted image (``run.json``): see ``infer``."""
    if mode == "random":
        return "every hidden pixel"
    inner = 64 - 2 * overlap
    return f"inner {inner} x {inner} of the centre; its {overlap}-pixel ring is the biharmonic estimate"


def network_for(regime: str) -> str:
    """The centre network serves ``center``; the random-region network every other regime."""
    return "center" if regime.partition(":")[0] == "center" else "random"


class ContextEncoder(Model):
    name = "context_encoder"
    description = "Context Encoder (Pathak et al. 2016): centre and random-region networks, trained or loaded"
    options = {
        "preset": "quick (default: minutes on a CPU) or paper (the released command)",
        "steps": "training steps per network (replaces the preset's length)",
        "minutes": "training minutes per network (replaces the preset's length)",
        "epochs": "passes over the training images",
        "bottleneck": "units of the code layer, or channelwise",
        "batch_size": "training batch size",
        "load_size": "side at which training images are read before 128 px crops",
        "condition_adv": "1: the two-stream conditional discriminator (centre network)",
        "precision": "auto, fp32 or bf16",
        "train_seed": "seed of the training run",
        "augment": "flip (the released crops) or dihedral (also quarter turns)",
        "lr_decay": "1: learning rates fall linearly to zero over the training budget",
        "tta": "views averaged at test time: 1, 2 (mirror) or 8 (turns too); default: what it trained with",
        "checkpoint": "checkpoints to load instead of training, comma-separated (or a released .t7 file)",
        "mode": "center or random: the network inpaintbench train trains",
        "out": "checkpoint folder of inpaintbench train",
    }

    def __init__(self, arg: str | None = None) -> None:
        super().__init__(arg)
        self._nets: dict[str, tuple[Checkpoint, Generator]] = {}
        self._views: dict[str, int] = {}
        self._images: dict[int, TrainingImages] = {}

    def prepare(self, ctx: PrepareContext) -> None:
        """Load the networks ``ctx.regimes`` need from ``checkpoint``, or from the cache, or train them."""
        from .checkpoint import load_generator

        needed = sorted({network_for(r) for r in ctx.regimes})
        views = views_option(ctx.options.get("tta"))
        if "checkpoint" in ctx.options:
            found = self._given(ctx.options["checkpoint"], needed)
        else:
            found = {
                mode: self._train_or_reuse(ctx, config_from_options(ctx.options, mode), None)
                for mode in needed
            }
        self._nets = {mode: (ckpt, load_generator(ckpt, ctx.device)) for mode, ckpt in found.items()}
        self._views = {mode: views or default_views(ckpt.config) for mode, ckpt in found.items()}

    def train(self, ctx: PrepareContext) -> Path:
        """Train the network of option ``mode`` (center or random) into option ``out`` (default: the
        cache directory prepare() would use); returns the checkpoint directory."""
        if "checkpoint" in ctx.options:
            raise InpaintbenchError(
                "inpaintbench train makes a checkpoint; --checkpoint (to load one) is for inpaintbench run"
            )
        cfg = config_from_options(ctx.options, ctx.options.get("mode", "center"))
        out = ctx.options.get("out")
        return self._train_or_reuse(ctx, cfg, Path(out) if out else None).directory

    def inpaint(self, batch: Batch) -> torch.Tensor:
        from .infer import inpaint_centre, inpaint_random

        mode = network_for(batch.regime)
        if mode not in self._nets:
            raise InpaintbenchError(f"context_encoder was not prepared for mask regime '{batch.regime}'")
        ckpt, gen = self._nets[mode]
        if mode == "center":
            return inpaint_centre(gen, batch.images, batch.masks, ckpt.config.overlap, self._views[mode])
        return inpaint_random(gen, batch.images, batch.masks, self._views[mode])

    def source(self, regime: str) -> str:
        net = self._nets.get(network_for(regime))
        return "" if net is None else str(net[0].weights_path)

    def provenance(self) -> dict[str, Any]:
        return {
            "networks": {
                mode: {
                    "checkpoint": str(ckpt.weights_path),
                    "sha256": ckpt.meta["weights_sha256"],
                    "config": ckpt.meta["config"],
                    "steps": ckpt.meta.get("step"),
                    "train_seconds": ckpt.meta.get("elapsed_s"),
                    "train_data_fingerprint": ckpt.meta.get("data_fingerprint"),
                    "precision": ckpt.meta.get("precision"),
                    "trained_on": ckpt.meta.get("device"),
                    "test_views": self._views[mode],
                    "output": network_output(mode, ckpt.config.overlap),
                    "origin": ckpt.meta.get("origin", "trained by inpaintbench-context-encoder"),
                }
                for mode, (ckpt, _) in self._nets.items()
            }
        }

    def _given(self, spec: str, needed: list[str]) -> dict[str, Checkpoint]:
        """Option ``checkpoint``: comma-separated paths; each checkpoint's config says which network it is
        (a released Torch7 ``.t7`` file is a centre network, converted in memory)."""
        from .checkpoint import open_checkpoint

        found: dict[str, Checkpoint] = {}
        for part in filter(None, (p.strip() for p in spec.split(","))):
            ckpt = open_checkpoint(Path(part))
            found[ckpt.config.mode] = ckpt
        missing = [m for m in needed if m not in found]
        if missing:
            raise InpaintbenchError(
                f"option checkpoint='{spec}' has no {' or '.join(missing)} network, "
                "which the mask regimes need"
            )
        return {mode: found[mode] for mode in needed}

    def _train_or_reuse(self, ctx: PrepareContext, cfg: TrainConfig, out: Path | None) -> Checkpoint:
        """The checkpoint trained for ``cfg`` on ``ctx.train_dataset``, trained or resumed if needed."""
        from .checkpoint import find_checkpoint
        from .data import load_training_images
        from .trainer import train

        if cfg.load_size not in self._images:
            self._images[cfg.load_size] = load_training_images(ctx.train_dataset, cfg.load_size)
        data = self._images[cfg.load_size]
        directory = out or Path(ctx.cache_dir) / f"context_encoder-{cfg.mode}-{cfg.key(data.fingerprint)}"
        masks = get_registry().get("mask", "random") if cfg.mode == "random" else None
        earlier = find_checkpoint(directory)
        ckpt = train(cfg, data, directory, ctx.device, ctx.log, ctx.progress, masks)
        how = "trained earlier" if earlier is not None and earlier.complete else "trained now"
        ctx.log(
            f"context_encoder: {cfg.mode} network ({how}: {ckpt.step} steps, "
            f"{ckpt.meta['elapsed_s'] / 60:.1f} min) saved at {directory}"
        )
        return ckpt
