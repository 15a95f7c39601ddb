"""Training one network with several processes: ``torchrun --nproc-per-node N -m inpaintbench train ...``.

torchrun starts N copies of the command and tells each its place (``WORLD_SIZE``, ``RANK``,
``LOCAL_RANK``, ``LOCAL_WORLD_SIZE``, the rendezvous address). Without it (``WORLD_SIZE`` unset or 1)
``join`` returns a single-process ``Ranks`` and torch.distributed is never touched, so one process
trains exactly as before.

Semantics (README, "Several GPUs or machines"): ``batch_size`` is the global batch. Step k's samples
k*B .. k*B+B-1 are cut into N contiguous slices of B/N, rank r taking slice r, so the ranks together
see exactly the batch one process would (``data.Shard``). Each rank's loss is the mean over its slice;
the gradients are averaged over the ranks (the gradient of the global mean), and with them the batch
norm running statistics (their update is linear in the batch mean, so averaging after every step is
averaging once at the end) and the losses that are logged. Every rank then applies the same update
to the same weights: weights, buffers and Adam moments stay bit-identical across ranks after every
step, so rank 0 alone writes checkpoints, at any moment, without a collective. What is not the same
as one process: batch norm normalises each rank's B/N samples with their own statistics (plain
BatchNorm; SyncBatchNorm would all-gather statistics twice per layer and step, and torch has it for
GPUs only), and floating-point sums run in another order.

The step takes its gradients with ``torch.autograd.grad`` (``step.py``), which DistributedDataParallel's
hooks never see, and runs the discriminator twice per step; so gradients are averaged here, one
all-reduce per dtype over a flat buffer, after both backward passes. Groups: ``tensors`` (NCCL on CUDA,
gloo on the CPU) carries the gradients; ``control`` (gloo, CPU) carries small Python objects (the
agreement on what is trained, the data scan's result, the final checkpoint) and rank 0's clock for a
``minutes`` budget. The default group is initialised here (NCCL on CUDA, gloo on the CPU) unless the
host already did (``inpaintbench run`` under torchrun); either way the two groups are this module's.
"""

from __future__ import annotations

import atexit
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

import torch

from inpaintbench import InpaintbenchError, World

T = TypeVar("T")

#: How long a rank waits for the others at a step's all-reduce before giving up (a rank that died or
#: left makes the others fail after this, not hang): rank 0's periodic save is the longest legitimate wait.
STEP_TIMEOUT = timedelta(minutes=30)
#: How long the others wait for rank 0 outside the steps: it reads and hashes every training image
#: (and fills the image cache) once before training.
WAIT_TIMEOUT = timedelta(hours=6)
#: This process's groups: "control", one per tensor backend, and the default group they were made in.
_GROUPS: dict[str, Any] = {}


@dataclass(frozen=True)
class Ranks(World):
    """The host's ``World`` (rank, size, and the ``control`` group, gloo, for small objects as ``group``)
    with the group that averages gradients (``tensors``: NCCL on CUDA, gloo on the CPU). Rank 0 alone
    writes checkpoints, losses.csv, preview grids and the image cache."""

    tensors: Any = field(default=None, repr=False, compare=False)

    def by_leader(self, work: Callable[[], T]) -> T:
        """``work()`` on rank 0, its result on every rank; an exception there is raised on every rank
        (the others with its message), so none waits forever for a rank that failed."""
        if not self.distributed:
            return work()
        result, problem = None, None
        if self.leader:
            try:
                result = work()
            except BaseException as exc:
                problem = exc
        failed = None if problem is None else f"rank 0 failed: {type(problem).__name__}: {problem}"
        message = self.share(failed)
        if problem is not None:
            raise problem
        if message is not None:
            raise InpaintbenchError(message)
        return self.share(result)

    def agree(self, what: str, value: Any) -> None:
        """Check that every rank has the same ``value`` (picklable, comparable) for ``what``."""
        found = self.gather(value)
        odd = [rank for rank, v in enumerate(found) if v != found[0]]
        if odd:
            raise InpaintbenchError(
                f"the torchrun ranks disagree on {what}: rank {odd[0]} has {found[odd[0]]!r}, rank 0 "
                f"{found[0]!r} (every rank must see the same files and options)"
            )

    def average_(self, tensors: Sequence[torch.Tensor]) -> None:
        """Replace each tensor by its mean over the ranks, in place: one all-reduce per dtype of a flat
        copy. Every rank receives the same bits, so replicas updated from them stay identical."""
        if not self.distributed:
            return
        import torch.distributed as dist

        by_dtype: dict[torch.dtype, list[torch.Tensor]] = {}
        for t in tensors:
            by_dtype.setdefault(t.dtype, []).append(t)
        for group in by_dtype.values():
            flat = torch.cat([t.reshape(-1) for t in group])
            dist.all_reduce(flat, group=self.tensors)
            flat.div_(self.size)
            offset = 0
            for t in group:
                t.copy_(flat[offset : offset + t.numel()].view(t.shape))
                offset += t.numel()

    def broadcast_(self, tensors: Sequence[torch.Tensor]) -> None:
        """Rank 0's values in every rank's ``tensors`` (as DistributedDataParallel starts replicas)."""
        if not self.distributed:
            return
        import torch.distributed as dist

        for t in tensors:
            dist.broadcast(t.data, src=0, group=self.tensors)

    def clock(self, seconds: float) -> float:
        """Rank 0's ``seconds``: decisions that read the clock (a ``minutes`` budget's end and its share
        of the lr schedule) are then the same on every rank."""
        if not self.distributed:
            return seconds
        import torch.distributed as dist

        value = torch.tensor([seconds], dtype=torch.float64)
        dist.broadcast(value, src=0, group=self.group)
        return float(value.item())


def local_device(device: torch.device) -> torch.device:
    """The device this rank trains on: under torchrun a bare ``cuda`` becomes ``cuda:LOCAL_RANK`` (one GPU
    per process, as NCCL needs); anything else is kept."""
    world = World.from_env()
    if world.distributed and device.type == "cuda" and device.index is None:
        return torch.device("cuda", world.local_rank % max(torch.cuda.device_count(), 1))
    return device


def join(device: torch.device) -> Ranks:
    """This process's ``Ranks``, joining torchrun's process group on first use (every rank must call it,
    at the same point: creating groups is collective)."""
    world = World.from_env()
    if not world.distributed:
        return Ranks()
    import torch.distributed as dist

    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend, timeout=STEP_TIMEOUT)
        atexit.register(_close)
    if _GROUPS.get("world") is not dist.group.WORLD:  # a new default group: new groups of ours too
        _GROUPS.clear()
        _GROUPS["world"] = dist.group.WORLD
        _GROUPS["control"] = dist.new_group(backend="gloo", timeout=WAIT_TIMEOUT)
    if backend not in _GROUPS:
        same = dist.get_backend() == backend
        _GROUPS[backend] = dist.group.WORLD if same else dist.new_group(backend=backend, timeout=STEP_TIMEOUT)
    control, tensors = _GROUPS["control"], _GROUPS[backend]
    return Ranks(world.rank, world.size, world.local_rank, world.local_size, control, tensors)


def _close() -> None:
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()
