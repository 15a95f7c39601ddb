"""Choices that depend on the machine: the training precision, thread count and the CPU allocator.

Every choice here is made from what the machine is (its CPU features, its device), never from a timing
probe: a probe run while other work loads the machine could flip the choice, and with it the
checkpoint's bits and its cache key.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from dataclasses import replace
from functools import cache
from pathlib import Path

import torch

from .config import TrainConfig

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
#: CPU feature levels, best first; the levels with fast bf16 matmuls (oneDNN's AMX or AVX512-BF16 kernels).
CPU_LEVELS = ("amx", "avx512_bf16", "avx512", "avx2", "other")
FAST_BF16_LEVELS = ("amx", "avx512_bf16")


def level_from_flags(flags: set[str] | frozenset[str]) -> str:
    """The feature level of a CPU with these /proc/cpuinfo ``flags``."""
    if {"amx_tile", "amx_bf16"} <= flags:
        return "amx"
    for level, flag in (("avx512_bf16", "avx512_bf16"), ("avx512", "avx512f"), ("avx2", "avx2")):
        if flag in flags:
            return level
    return "other"


@cache
def cpu_level() -> str:
    """This CPU's feature level: from /proc/cpuinfo's flags where it has them, else torch's probes."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        text = ""
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "flags":
            return level_from_flags(frozenset(value.split()))
    probes = (
        ("amx", "_is_amx_tile_supported"),
        ("avx512_bf16", "_is_avx512_bf16_supported"),
        ("avx512", "_is_avx512_supported"),
        ("avx2", "_is_avx2_supported"),
    )
    for level, probe in probes:
        check = getattr(torch.cpu, probe, None)
        if check is not None and check():
            return level
    return "other"


def device_kind(device: torch.device) -> str:
    """What kind of machine trains: ``cpu:LEVEL`` (the level the precision rule reads), the CUDA device's
    name, or the device type. Part of the cache key: other kinds compute other bits."""
    if device.type == "cpu":
        return f"cpu:{cpu_level()}"
    if device.type == "cuda":
        return f"cuda:{torch.cuda.get_device_name(device)}"
    return device.type


def fast_bf16(device: torch.device) -> bool:
    """Whether bfloat16 autocast trains faster here: CUDA, or a CPU with AMX tiles (about 7x fp32 for a
    matmul on an AMX Xeon) or AVX512-BF16 (an EPYC without AMX: the quick preset's step 1.56x faster).
    On AVX2 or plain AVX-512 a bf16 matmul is emulated, 100-700x slower than fp32 (measured on AVX2)."""
    if device.type == "cuda":
        return True
    return device.type == "cpu" and cpu_level() in FAST_BF16_LEVELS


def resolve_precision(requested: str, device: torch.device) -> str:
    """``auto``: bf16 autocast where bf16 is fast, fp32 elsewhere."""
    if requested != "auto":
        return requested
    return "bf16" if fast_bf16(device) else "fp32"


def resolve_threads(requested: int | None, device: torch.device) -> int | None:
    """The CPU thread count training runs with (results depend on it: the order of floating-point sums),
    by default torch's current one; None off the CPU, where the threads only feed the device."""
    if device.type != "cpu":
        return None
    return requested or torch.get_num_threads()


def resolved(cfg: TrainConfig, device: torch.device) -> TrainConfig:
    """``cfg`` as it trains on ``device``: the precision and thread count it computes with."""
    return replace(
        cfg, precision=resolve_precision(cfg.precision, device), threads=resolve_threads(cfg.threads, device)
    )


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
