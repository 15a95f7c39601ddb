"""Choices that depend on the machine: the training precision and the CPU allocator."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from functools import cache

import torch

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3


def fast_bf16(device: torch.device) -> bool:
    """Whether bfloat16 matmuls are fast here: CUDA, or a CPU with AMX tiles (about 7x fp32 on an
    AMX Xeon). Without AMX (AVX2 only) a bf16 matmul measured 100-700x slower than fp32."""
    if device.type == "cuda":
        return True
    if device.type == "cpu":
        amx = getattr(torch.cpu, "_is_amx_tile_supported", None)
        return bool(amx and amx())
    return False


def resolve_precision(requested: str, device: torch.device) -> str:
    """``auto``: bf16 autocast where bf16 is fast, fp32 elsewhere."""
    if requested != "auto":
        return requested
    return "bf16" if fast_bf16(device) else "fp32"


@cache
def keep_freed_memory() -> bool:
    """Ask glibc to keep freed blocks instead of returning them to the OS after every step.

    A CPU training step allocates and frees about 1 GB of activations and gradients; by default glibc
    serves blocks that large with fresh mmap pages, so every step pays ~250k page faults (about a
    quarter of the step's time in the kernel, measured). Raising the mmap and trim thresholds cut
    that to ~60k. Process-wide, as jemalloc/tcmalloc would be; a no-op off glibc. Returns whether it
    took effect.
    """
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(mallopt(M_MMAP_THRESHOLD, 1 << 30)) and bool(mallopt(M_TRIM_THRESHOLD, (1 << 31) - 1))
