"""Where trained checkpoints and other reusable artefacts are kept between runs, the lock each entry is
built under, and the fingerprint (sha256) every file read from outside a run is recorded or checked by."""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .files.lock import open_lock

ENV_VAR = "INPAINTBENCH_HOME"
#: Held (flock) in an entry's folder by the process building the entry.
ENTRY_LOCK = ".building.lock"


def cache_dir() -> Path:
    """``$INPAINTBENCH_HOME``, else ``~/.cache/inpaintbench``."""
    root = os.environ.get(ENV_VAR)
    return Path(root) if root else Path.home() / ".cache" / "inpaintbench"


@contextmanager
def building(entry: Path, log: Callable[[str], None]) -> Iterator[None]:
    """Hold the lock of the cache entry ``entry`` (a folder, created) for the block, waiting for the
    process that holds it, if any (``log`` says so once).

    Two processes building one entry at once (two runs training the same checkpoint) would each clean up
    the other's files, its weights or its temporary files; the second waits instead, then finds what the
    first built. ``flock(2)``: the kernel releases the lock however its holder ends (``kill -9`` too)."""
    fd = open_lock(Path(entry) / ENTRY_LOCK)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"waiting for another process building {entry} to finish")
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
