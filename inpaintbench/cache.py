"""Where trained checkpoints and other reusable artefacts are kept between runs."""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "INPAINTBENCH_HOME"


def cache_dir() -> Path:
    """``$INPAINTBENCH_HOME``, else ``~/.cache/inpaintbench``."""
    root = os.environ.get(ENV_VAR)
    return Path(root) if root else Path.home() / ".cache" / "inpaintbench"
