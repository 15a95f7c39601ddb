"""The registered model: picks, trains or loads the network each mask regime needs, and inpaints.

Imported when the registry is built, so torch and the training code are imported inside methods.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inpaintbench import Batch, InpaintbenchError, Model, PrepareContext, get_registry

from .config import TrainConfig, check_options, config_from_options, default_views, views_option

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


def network_record(ckpt: Checkpoint, views: int) -> dict[str, Any]:
    """A network's entry in ``run.json``: the checkpoint, its configuration and what its training was
    (``trainer.run_record``'s keys; None where an older or released checkpoint does not say)."""
    meta = ckpt.meta
    steps = meta.get("steps", meta.get("step"))
    return {
        "checkpoint": str(ckpt.weights_path),
        "sha256": meta["weights_sha256"],
        "config": meta["config"],
        "steps": steps if isinstance(steps, int) and steps >= 0 else None,
        "train_seconds": meta.get("train_seconds", meta.get("elapsed_s")),
        "seed": meta.get("seed"),
        "precision": meta.get("precision"),
        "device_kind": meta.get("device_kind"),
        "threads": meta.get("threads"),
        "world_size": meta.get("world_size"),
        "length": meta.get("length"),
        "minutes_budget": meta.get("minutes_budget"),
        "test_views": views,
        "train_data_fingerprint": meta.get("data_fingerprint"),
        "trained_on": meta.get("device"),
        "output": network_output(ckpt.config.mode, ckpt.config.overlap),
        "origin": meta.get("origin", "trained by inpaintbench-context-encoder"),
    }


def _silent(_: str) -> None:
    """The log of ranks other than 0: rank 0 speaks for the run."""


def describe_length(cfg: TrainConfig, n_images: int) -> str:
    """How the training length was set, for the line after training."""
    length = cfg.length(n_images)
    if length == "minutes":
        return f"a {cfg.minutes:g}-minute wall-clock budget"
    return f"{cfg.epochs} epochs" if length == "epochs" else "a fixed step count"


def labels(networks: dict[str, dict[str, Any]]) -> list[str]:
    """One line per network for the report: how many test-time views each number averages, and a
    warning where the training length was a wall-clock budget (another machine trains another network)."""
    lines = []
    for mode, net in networks.items():
        line = f"{mode} network: {net['test_views']} test-time view{'s' * (net['test_views'] != 1)}"
        if net["length"] == "minutes":
            budget = net["minutes_budget"]
            line += f"; trained for a {budget:g}-minute wall-clock budget ({net['steps']} steps)"
        lines.append(line)
    return lines


class ContextEncoder(Model):
    name = "context_encoder"
    description = "Context Encoder (Pathak et al. 2016): centre and random-region networks, trained or loaded"
    options = {
        "preset": "quick (default: fixed steps, ~11 min on a 2-core CPU) or paper (the released command)",
        "steps": "training steps per network (replaces the preset's length)",
        "minutes": "a wall-clock training budget (replaces the preset's length; depends on the machine)",
        "epochs": "passes over the training images",
        "bottleneck": "units of the code layer, or channelwise",
        "batch_size": "training batch size",
        "load_size": "side at which training images are read before 128 px crops",
        "condition_adv": "1: the two-stream conditional discriminator (centre network)",
        "precision": "auto (bf16 on CUDA and on CPUs with AMX or AVX512-BF16, else fp32), fp32 or bf16",
        "threads": "CPU threads training runs on (default: torch's count); results depend on it",
        "train_seed": "seed of the training run",
        "augment": "flip (the released crops) or dihedral (also quarter turns)",
        "lr_decay": "1: learning rates fall linearly to zero over the training length",
        "tta": "views averaged at test time: 1, 2 (mirror) or 8 (turns too); default: what it trained with",
        "checkpoint": "checkpoints to load instead of training, comma-separated (or a released .t7 file)",
        "image_cache": "auto (default), 1 or 0: decoded training images cached on disk and cropped there",
        "mode": "center or random: the network inpaintbench train trains",
        "out": "checkpoint folder of inpaintbench train",
    }
    flags = {
        "--checkpoint": ("checkpoint", str),
        "--preset": ("preset", str),
        "--steps": ("steps", int),
        "--minutes": ("minutes", float),
        "--mode": ("mode", str),
    }

    def __init__(self, arg: str | None = None) -> None:
        super().__init__(arg)
        self._nets: dict[str, tuple[Checkpoint, Generator]] = {}
        self._views: dict[str, int] = {}
        self._images: dict[int, TrainingImages] = {}
        self._checkpoints: str | None = None

    def check_options(self, options: Mapping[str, str]) -> None:
        """Every option value, before any work; the checkpoints named are kept for ``check``."""
        check_options(options)
        self._checkpoints = options.get("checkpoint")

    def check(self, device: torch.device, image_size: int) -> None:
        """Open each checkpoint given and load its generator, so a bad one is one line before the run's
        folder is written, not a failed model after it."""
        import torch

        from .checkpoint import load_generator, open_checkpoint

        for part in _parts(self._checkpoints or ""):
            load_generator(open_checkpoint(Path(part)), torch.device("cpu"))

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
        """Per network what was trained and how (``network_record``); ``labels`` for the report: the
        test-time views of each network, and any trained for a wall-clock budget."""
        networks = {mode: network_record(ckpt, self._views[mode]) for mode, (ckpt, _) in self._nets.items()}
        return {"networks": networks, "labels": labels(networks)}

    def _given(self, spec: str, needed: list[str]) -> dict[str, Checkpoint]:
        """Option ``checkpoint``: comma-separated paths; each checkpoint's config says which network it is
        (a released Torch7 ``.t7`` file is a centre network, converted in memory)."""
        from .checkpoint import open_checkpoint

        found: dict[str, Checkpoint] = {}
        for part in _parts(spec):
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
        from .distributed import join, local_device
        from .hardware import device_kind, resolved
        from .stream import open_training_images
        from .trainer import train

        device = local_device(ctx.device)
        ranks = join(device)  # under torchrun: every rank trains, on its share of each batch
        if cfg.load_size not in self._images:
            choice = ctx.options.get("image_cache", "auto")
            data = open_training_images(ctx.train_dataset, cfg.load_size, Path(ctx.cache_dir), choice, ranks)
            self._images[cfg.load_size] = data
        data = self._images[cfg.load_size]
        cfg = resolved(cfg, device)
        key = cfg.key(data.fingerprint, device_kind(device), ranks.size)
        directory = out or Path(ctx.cache_dir) / f"context_encoder-{cfg.mode}-{key}"
        masks = get_registry().get("mask", "random") if cfg.mode == "random" else None
        earlier = find_checkpoint(directory)
        log = ctx.log if ranks.leader else _silent
        ckpt = train(cfg, data, directory, device, log, ctx.progress and ranks.leader, masks)
        if not ranks.leader:
            return ckpt
        how = "trained earlier" if earlier is not None and earlier.complete else "trained now"
        minutes = ckpt.meta["elapsed_s"] / 60
        threads = f", {cfg.threads} threads" if cfg.threads else ""
        threads += f", {ranks.size} processes" if ranks.distributed else ""
        ctx.log(
            f"context_encoder: {cfg.mode} network ({how}: {ckpt.step} steps in {minutes:.1f} min, "
            f"{describe_length(cfg, len(data))}; {cfg.precision} on {device_kind(ctx.device)}{threads}) "
            f"saved at {directory}"
        )
        return ckpt


def _parts(spec: str) -> list[str]:
    """The paths of option ``checkpoint``: comma-separated, blanks ignored."""
    return [part for part in (p.strip() for p in spec.split(",")) if part]
