"""Several processes on one run: ``torchrun --nproc-per-node N -m inpaintbench run ...``.

torchrun starts N copies of the command and tells each its place (``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR``/``MASTER_PORT``; the same across machines with ``--nnodes``). Each rank
scores its own shard of the images, a deterministic one: the dataset is cut into blocks of
``--batch-size`` entries in dataset order and block ``b`` belongs to rank ``b % WORLD_SIZE``, so every
batch a rank scores is exactly a batch a single process would score (same images, same order), and
per-image values cannot depend on the number of processes. Ranks exchange only small control messages
(a setup verdict, image counts for ``--limit``, a final status), never tensors, so the process group is
gloo on every device: models and metrics run on each rank's own device (``cuda:LOCAL_RANK`` on GPUs).

Without torchrun (``WORLD_SIZE`` unset or 1) everything here is a no-op and torch.distributed is never
imported. This module imports torch only inside ``init``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from ...errors import InpaintbenchError

#: How long a rank waits for the others at a collective (a rank still preparing a model, say) before
#: giving up; torchrun ends every rank at once when one of them dies, so this bounds only real hangs.
TIMEOUT = timedelta(hours=6)


@dataclass(frozen=True)
class World:
    """This process's place among the run's processes, and the process group its collectives use (None:
    torch.distributed's default group). Public (``inpaintbench.World``) for plugins that train under
    torchrun."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    #: Processes on this machine (torchrun's ``LOCAL_WORLD_SIZE``).
    local_size: int = 1
    group: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def from_env(cls) -> World:
        """torchrun's variables, or a single process when they are absent; a malformed value is one line."""
        try:
            size = int(os.environ.get("WORLD_SIZE", "1"))
            rank = int(os.environ.get("RANK", "0"))
            local = int(os.environ.get("LOCAL_RANK", "0"))
            local_size = int(os.environ.get("LOCAL_WORLD_SIZE", str(size)))
        except ValueError:
            raise InpaintbenchError(
                "WORLD_SIZE, RANK, LOCAL_RANK and LOCAL_WORLD_SIZE must be integers (torchrun sets them)"
            ) from None
        if size < 1 or not 0 <= rank < size:
            raise InpaintbenchError(f"RANK={rank} and WORLD_SIZE={size} do not fit together")
        return cls(rank, size, local, max(local_size, 1))

    @property
    def distributed(self) -> bool:
        return self.size > 1

    @property
    def leader(self) -> bool:
        """Rank 0: in a run it holds the folder's lock, merges the ranks' stores and writes the outputs."""
        return self.rank == 0

    def owns(self, block: int) -> bool:
        """Whether this rank scores block ``block`` (``--batch-size`` entries in dataset order)."""
        return block % self.size == self.rank

    def init(self) -> None:
        """Join the process group (gloo over torchrun's rendezvous address)."""
        if not self.distributed:
            return
        import torch.distributed as dist

        if not dist.is_initialized():
            dist.init_process_group(backend="gloo", timeout=TIMEOUT)

    def close(self) -> None:
        if not self.distributed:
            return
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()

    def gather(self, value: Any) -> list[Any]:
        """Every rank's ``value`` (picklable), in rank order, on every rank."""
        if not self.distributed:
            return [value]
        import torch.distributed as dist

        found: list[Any] = [None] * self.size
        dist.all_gather_object(found, value, group=self.group)
        return found

    def share(self, value: Any) -> Any:
        """Rank 0's ``value`` on every rank."""
        if not self.distributed:
            return value
        import torch.distributed as dist

        box = [value if self.leader else None]
        dist.broadcast_object_list(box, src=0, group=self.group)
        return box[0]

    def barrier(self) -> None:
        if not self.distributed:
            return
        import torch.distributed as dist

        dist.barrier(group=self.group)


def agree(world: World, error: BaseException | None) -> None:
    """Stop every rank if any rank failed: a rank re-raises its own exception (so a plugin's bug keeps
    its traceback), the others raise the first failing rank's message with its exit status. An input
    problem found by one rank (a mask regime that fails on its images) is then one line from all of them,
    and none waits forever at the next collective for a rank that has left."""
    mine = None
    if error is not None:
        if isinstance(error, InpaintbenchError):
            mine = (str(error), getattr(error, "exit_status", 2))
        else:
            mine = (f"rank {world.rank} failed: {type(error).__name__}: {error}", 1)
    found = world.gather(mine)
    if error is not None:
        raise error
    first = next((f for f in found if f is not None), None)
    if first is not None:
        raise Relayed(*first)


class Relayed(InpaintbenchError):
    """Another rank's error, raised here with the same message and exit status."""

    def __init__(self, message: str, exit_status: int = 2) -> None:
        super().__init__(message)
        self.exit_status = exit_status
