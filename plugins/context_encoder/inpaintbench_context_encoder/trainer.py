"""The training loop: budgets, resuming, periodic checkpoints, loss log and preview grids.

Under torchrun (``distributed.py``) every rank runs this loop on its slice of each global batch; the
step averages gradients, batch norm statistics and losses, so the replicas stay identical and rank 0
alone writes the checkpoints, ``losses.csv`` and the preview grids, the others returning its final
checkpoint. A checkpoint records the world size and is continued only by as many processes.
"""

from __future__ import annotations

import contextlib
import math
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from inpaintbench import InpaintbenchError, MaskGenerator, building, stable_seed

from . import __version__
from .checkpoint import Checkpoint, find_checkpoint, restore, save_checkpoint
from .config import TrainConfig, default_views
from .data import Crops, Shard, TrainingImages, batches, loader_workers
from .distributed import Ranks, join, local_device
from .hardware import device_kind, keep_freed_memory, resolved
from .infer import inpaint_centre, inpaint_random
from .logs import LossLog, save_grid
from .recipe import FINE, HI, LO, centre_input, random_input
from .step import TrainStep

#: Checkpoint (and preview grid) interval, in seconds of training: when a save happens never changes
#: the weights (a save only reads them), so a step count gives the same network on any machine.
SAVE_EVERY_S = 180.0
LOG_EVERY = 10  #: steps averaged into one row of losses.csv
PREVIEW = 8  #: images in a preview grid


def step_limit(cfg: TrainConfig, n_images: int) -> int | None:
    """The number of steps the configuration asks for, or None when only time limits it."""
    limits = [] if cfg.steps is None else [cfg.steps]
    if cfg.epochs is not None:
        limits.append(cfg.epochs * math.ceil(n_images / cfg.batch_size))
    return min(limits) if limits else None


def train(
    cfg: TrainConfig,
    data: TrainingImages,
    directory: Path,
    device: torch.device,
    log: Callable[[str], None] = print,
    progress: bool = True,
    masks: MaskGenerator | None = None,
) -> Checkpoint:
    """Train into ``directory``, resuming what is there, until ``cfg``'s limits; returns the final
    checkpoint. A checkpoint there of the same recipe, data and device kind is continued (its step
    count and training time carry on, so a larger ``steps`` or ``minutes`` extends it); one of another
    is an error (the directory belongs to that run). Runs on ``cfg``'s resolved thread count
    (``hardware.resolved``) and restores torch's afterwards. Under torchrun every rank calls it with
    the same arguments (a bare ``cuda`` is this rank's GPU, ``distributed.local_device``).
    """
    device = local_device(device)
    cfg = resolved(cfg, device)
    before = torch.get_num_threads()
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    # One process at a time per directory: a second run training the same cached network waits, then
    # reuses it; otherwise each save's clean-up deleted the other's files. Rank 0 alone writes and locks.
    leader = join(device).leader
    try:
        with building(directory, log) if leader else contextlib.nullcontext():
            return _train(cfg, data, directory, device, log, progress, masks)
    finally:
        torch.set_num_threads(before)


def _train(
    cfg: TrainConfig,
    data: TrainingImages,
    directory: Path,
    device: torch.device,
    log: Callable[[str], None],
    progress: bool,
    masks: MaskGenerator | None,
) -> Checkpoint:
    """``train`` for a resolved ``cfg``. Nothing here reads the clock to decide anything but a
    ``minutes`` budget's end and lr schedule, and when checkpoints are saved: a save reads the
    networks and optimisers without changing them (tests/test_training.py checks a save after every
    step gives the same weights), so a length in steps or epochs gives the same bits however fast the
    machine runs."""
    kind = device_kind(device)
    ranks = join(device)
    per_rank = per_rank_batch(cfg, ranks)
    existing = find_checkpoint(directory)
    there = None if existing is None else existing.meta["weights_sha256"]
    ranks.agree(
        f"the training run in '{directory}' (configuration, data, device kind, checkpoint there)",
        (cfg.to_json(), data.fingerprint, kind, there),
    )
    if existing is not None and (
        existing.config.recipe() != cfg.recipe()
        or existing.meta.get("data_fingerprint") != data.fingerprint
        or existing.meta.get("device_kind", kind) != kind
    ):
        raise InpaintbenchError(
            f"'{directory}' holds a checkpoint of another configuration, training set or device: give "
            "`inpaintbench train` another --out, or, for the cache `inpaintbench run` uses, delete that "
            "folder (it is retrained) or point INPAINTBENCH_HOME elsewhere"
        )
    trained_by = existing.meta.get("world_size", 1) if existing is not None else ranks.size
    if trained_by != ranks.size:
        raise InpaintbenchError(
            f"'{directory}' holds a checkpoint trained by {processes(trained_by)}, and this run has "
            f"{processes(ranks.size)}: the weights' bits depend on the number (batch norm statistics are "
            f"per process), so continue it with {processes(trained_by)} (torchrun --nproc-per-node), or "
            "give `inpaintbench train` another --out"
        )
    if cfg.mode == "random" and masks is None:
        raise ValueError("random-region training needs a mask generator")
    max_steps = step_limit(cfg, len(data))
    max_seconds = None if cfg.minutes is None else cfg.minutes * 60.0
    length = cfg.length(len(data))

    def finished() -> bool:
        return (max_steps is not None and step >= max_steps) or (
            max_seconds is not None and elapsed >= max_seconds
        )

    def spent() -> float:
        """How much of the budget is spent: the larger of the step and time fractions."""
        done = [step / max_steps] if max_steps else []
        done += [elapsed / max_seconds] if max_seconds else []
        return min(max(done, default=0.0), 1.0)

    step, elapsed = 0, 0.0
    if existing is not None:
        step, elapsed = existing.step, float(existing.meta["elapsed_s"])
        if existing.complete and finished():
            return existing.verify()
    if device.type == "cpu":
        keep_freed_memory()
    torch.manual_seed(cfg.seed)
    trainer = TrainStep(cfg, device)
    if existing is not None:
        restore(existing, trainer)
        log(f"context_encoder: resuming {cfg.mode} training in {directory} at step {step}")
    if ranks.distributed:
        ranks.broadcast_(trainer.state())  # as DistributedDataParallel starts its replicas
        trainer.reduce = ranks.average_
    leader = ranks.leader
    preview = _preview_batch(cfg, data, masks, device) if leader else None
    if leader:
        directory.mkdir(parents=True, exist_ok=True)
    losses_log = LossLog(directory / "losses.csv", step) if leader else None
    workers = loader_workers(device, getattr(data.images, "decodes", False), ranks.local_size)
    shard = Shard(ranks.rank, ranks.size, per_rank) if ranks.distributed else None
    crops = Crops(data.images, cfg.seed, masks, dihedral=cfg.augment == "dihedral", shard=shard)
    stream = batches(crops, per_rank, step, device, workers)

    def meta(complete: bool) -> dict:
        return {
            "config": cfg.to_json(),
            "step": step,
            "elapsed_s": round(elapsed, 3),
            "complete": complete,
            "data_fingerprint": data.fingerprint,
            "n_train_images": len(data),
            "device": str(device),
            **run_record(cfg, step, elapsed, kind, length),
            "world_size": ranks.size,
            "batch_per_rank": per_rank,
            "versions": {
                "plugin": __version__,
                "torch": torch.__version__,
                "python": platform.python_version(),
            },
        }

    def checkpoint(complete: bool) -> Checkpoint:
        """Rank 0's save (every rank holds the same weights, so no other rank need take part)."""
        assert leader and preview is not None
        ckpt = save_checkpoint(directory, trainer, meta(complete))
        save_grid(directory / "samples" / f"step-{step:08d}.png", _preview(trainer, cfg, preview))
        return ckpt

    by_time = max_steps is None  # a minutes budget alone: the bar counts its seconds, for an ETA
    seconds_bar = "{l_bar}{bar}| {n:.0f}/{total:.0f} s [{elapsed}<{remaining}{postfix}]"
    bar = tqdm(
        total=max_seconds if by_time else max_steps,
        initial=elapsed if by_time else step,
        unit="s" if by_time else "step",
        desc=f"context_encoder {cfg.mode}",
        disable=not (progress and leader),
        bar_format=seconds_bar if by_time else None,
    )
    window: list[dict[str, torch.Tensor]] = []
    window_start, last_save = elapsed, elapsed
    try:
        while not finished():
            start = time.perf_counter()
            if cfg.lr_decay:
                trainer.scale_learning_rates(1.0 - spent())
            real, hole = next(stream)
            losses = trainer(real, hole)
            step += 1
            took = time.perf_counter() - start
            elapsed += took
            if max_seconds is not None:  # a budget's end and lr share: rank 0's clock on every rank
                elapsed = ranks.clock(elapsed)
            bar.update(max(0.0, min(took, bar.total - bar.n)) if by_time else 1)  # no overshoot
            if losses_log is None:
                continue
            window.append(losses)
            if len(window) == LOG_EVERY or finished():
                means = {k: torch.stack([w[k] for w in window]).mean().item() for k in window[0]}
                speed = len(window) * cfg.batch_size / max(elapsed - window_start, 1e-9)
                losses_log.write(step, {"elapsed_s": elapsed, "images_per_s": speed, **means})
                shown = {"step": step} if by_time else {"t": f"{elapsed / 60:.1f}m"}
                bar.set_postfix(l2=f"{means['g_l2']:.4f}", d=f"{means['d']:.3f}", **shown)
                window, window_start = [], elapsed
            if elapsed - last_save >= SAVE_EVERY_S and not finished():
                checkpoint(complete=False)
                last_save = elapsed
    except KeyboardInterrupt:
        if step > 0 and leader:
            checkpoint(complete=False)
            log(f"context_encoder: interrupted; saved step {step} in {directory} (rerun to resume)")
        raise
    finally:
        bar.close()
    return Checkpoint(directory, ranks.by_leader(lambda: checkpoint(complete=True).meta))


def per_rank_batch(cfg: TrainConfig, ranks: Ranks) -> int:
    """``batch_size`` is the global batch: each of the ranks trains on an equal share of it, at least
    two samples (batch norm needs two per process)."""
    share, left = divmod(cfg.batch_size, ranks.size)
    if left or share < 2:
        raise InpaintbenchError(
            f"batch_size={cfg.batch_size} is the global batch and must split into {ranks.size} equal "
            "shares of at least 2 samples, one per process"
        )
    return share


def processes(n: int) -> str:
    return f"{n} process" if n == 1 else f"{n} processes"


def run_record(cfg: TrainConfig, step: int, elapsed: float, kind: str, length: str) -> dict[str, Any]:
    """What a checkpoint says it is, under the keys ``run.json`` carries for each network."""
    return {
        "steps": step,
        "train_seconds": round(elapsed, 3),
        "seed": cfg.seed,
        "precision": cfg.precision,
        "device_kind": kind,
        "threads": cfg.threads,
        "length": length,
        "minutes_budget": cfg.minutes if length == "minutes" else None,
        "test_views": default_views(cfg),
    }


def _preview_batch(
    cfg: TrainConfig, data: TrainingImages, masks: MaskGenerator | None, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed set of training crops (and holes) for the preview grids, apart from the training stream."""
    crops = Crops(data.images, stable_seed(cfg.seed, "preview") % 2**63, masks)
    items = [crops[i] for i in range(PREVIEW)]
    real = torch.stack([pixels for pixels, _ in items]).to(device).float() / 127.5 - 1
    if masks is None:
        return real, torch.zeros(PREVIEW, 1, FINE, FINE, dtype=torch.bool, device=device)
    return real, torch.stack([hole for _, hole in items]).to(device)


def _preview(trainer: TrainStep, cfg: TrainConfig, preview: tuple[torch.Tensor, torch.Tensor]) -> list:
    """Rows of the grid: the generator's input, its inpainting (eval mode), the original."""
    real, hole = preview
    images = (real + 1) / 2
    if cfg.mode == "center":
        inp = centre_input(real, cfg.overlap)
        hole = torch.zeros_like(hole)
        hole[:, :, LO:HI, LO:HI] = True
        out = inpaint_centre(trainer.gen.eval(), images, hole.float(), cfg.overlap)
    else:
        inp = random_input(real, hole)
        out = inpaint_random(trainer.gen.eval(), images, hole.float())
    out = torch.where(hole, out, images)
    return [(inp + 1) / 2, out, images]
