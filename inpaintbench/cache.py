"""Where trained checkpoints and other reusable artefacts are kept between runs, and the fingerprint
(sha256) every file read from outside a run is recorded or checked by."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

ENV_VAR = "INPAINTBENCH_HOME"


def cache_dir() -> Path:
    """``$INPAINTBENCH_HOME``, else ``~/.cache/inpaintbench``."""
    root = os.environ.get(ENV_VAR)
    return Path(root) if root else Path.home() / ".cache" / "inpaintbench"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
