"""Finding and verifying a metric's pretrained weights, without ever downloading them.

A weights file is looked up, in this order:

1. the metric's environment variable: the file itself, or a folder holding it under its published name;
2. the torch hub cache, ``torch.hub.get_dir()/checkpoints/<published name>`` (``$TORCH_HOME/hub``, by
   default ``~/.cache/torch/hub``), where torch itself would have saved it.

torch does not check a cached file's hash on load, so the full sha256 is verified here; a missing or
altered file makes the metric unavailable with one line saying what to fetch and where to put it.

``INPAINTBENCH_ALLOW_UNVERIFIED_WEIGHTS=1`` is for plumbing tests with random weights: a metric that
honours it (fid, kid; not lpips) then accepts a file whose sha256 differs, and must label every value it
reports as not the real metric.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..cache import sha256_file
from ..components import MetricUnavailable

ALLOW_UNVERIFIED_ENV = "INPAINTBENCH_ALLOW_UNVERIFIED_WEIGHTS"


@dataclass(frozen=True)
class WeightsFile:
    """One published weights file: what it is, its name and full sha256, where to get it, which
    environment variable may point at it."""

    what: str
    filename: str
    sha256: str
    url: str
    env_var: str


@dataclass(frozen=True)
class FoundWeights:
    path: Path
    sha256: str
    verified: bool  # False only for a file accepted under ALLOW_UNVERIFIED_ENV


def candidate_path(weights: WeightsFile) -> Path:
    """Where the file should be: the environment variable's path, else the torch hub cache."""
    override = os.environ.get(weights.env_var)
    if override:
        path = Path(override).expanduser()
        return path / weights.filename if path.is_dir() else path
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints" / weights.filename


def unverified_allowed() -> bool:
    return os.environ.get(ALLOW_UNVERIFIED_ENV) == "1"


def find_weights(weights: WeightsFile, metric: str, *, allow_unverified: bool = False) -> FoundWeights:
    """The file once its sha256 matches (or, with ``allow_unverified``, once it exists); otherwise
    MetricUnavailable naming ``metric``, the file, where to put it and where to get it."""
    path = candidate_path(weights)
    if not path.is_file():
        problem = f"not found at {path}"
    else:
        digest = sha256_file(path)
        if digest == weights.sha256 or allow_unverified:
            return FoundWeights(path, digest, verified=digest == weights.sha256)
        problem = f"{path} has sha256 {digest[:16]}..., expected {weights.sha256[:16]}..."
    raise MetricUnavailable(
        f"{metric} needs {weights.what} {weights.filename} ({problem}); "
        f"download {weights.url} on a machine with internet and save it as {path} "
        f"(or point {weights.env_var} at the file)"
    )
