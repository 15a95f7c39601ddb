"""How the run's stages share the CPUs: loader threads, PNG writers, and torch's own threads.

The stages overlap: loaders decode the next batches and writers compress the last ones while the model
and the metrics run. torch's intra-op pool (OpenMP) spins while it waits, so when it is as large as the
machine it fights the loaders and writers for every core, and on a shared or small machine a batch of
SSIM can take ten times longer (measured on 2 cores: 7 ms per 256 px image with one torch thread, 19 to
380 ms with two while other work ran). On the CPU device the evaluation therefore leaves torch the CPUs
the loaders do not take; a model's ``prepare`` (training, say) gets torch's full pool back. An explicit
``OMP_NUM_THREADS`` (torchrun sets it to 1 per rank) is respected: nothing is changed then.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import torch

#: Environment variable for the number of loader threads.
WORKERS_ENV = "INPAINTBENCH_WORKERS"
#: Threads that compress PNGs (zlib releases the GIL, so they run beside everything else).
PNG_THREADS = 2


def cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def loader_threads() -> int:
    """``INPAINTBENCH_WORKERS``, else half the CPUs, between 1 and 4."""
    configured = os.environ.get(WORKERS_ENV, "")
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    return max(1, min(4, cpus() // 2))


def evaluation_threads(device: torch.device, loaders: int) -> int:
    """torch's intra-op threads while the run evaluates: the CPUs the loaders leave, on the CPU device
    when nobody chose a number; otherwise what torch has now."""
    if device.type != "cpu" or "OMP_NUM_THREADS" in os.environ:
        return torch.get_num_threads()
    return max(1, cpus() - loaders)


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """torch's intra-op pool at ``count`` threads for the block."""
    before = torch.get_num_threads()
    if count != before:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)
