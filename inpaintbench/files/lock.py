"""One writer per run folder: an exclusive lock held for the whole run.

Two runs writing one folder would compute the same work twice and race on its files, so the second is
refused at once, with the holder's pid, rather than left waiting behind a run that may take hours. The
lock is ``flock(2)`` on ``run.lock``: the kernel releases it however its holder ends (``kill -9``
included), so a lock file left behind never blocks anyone.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import InpaintbenchError
from . import layout
from .atomic import writing
from .owned import open_owned


def open_lock(path: Path) -> int:
    """The lock file at ``path`` opened for flock (its folder made first), never through a link: a
    link there would get our pid written into its target. A folder that cannot be written is one line."""
    try:
        with writing(path):
            path.parent.mkdir(parents=True, exist_ok=True)
            return open_owned(path, os.O_RDWR | os.O_CREAT)
    except OSError as exc:
        raise InpaintbenchError(f"cannot write in {path.parent}: {exc.strerror}") from None


def _holder(fd: int) -> str:
    text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    return f"pid {text}" if text.isdigit() else "pid unknown"


@contextmanager
def exclusive(folder: Path) -> Iterator[None]:
    """Hold ``folder``'s lock for the block, or refuse with one line naming the holder."""
    fd = open_lock(Path(folder) / layout.LOCK)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InpaintbenchError(
                f"{folder} is being written by another inpaintbench run ({_holder(fd)}): "
                "wait for it to finish, or use another --out"
            ) from None
        with contextlib.suppress(OSError):  # the pid is for the message only; a full disk must not stop us
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


def writer(folder: Path) -> str | None:
    """The pid of the run writing ``folder`` now (as "pid N"), or None when no run holds it."""
    try:
        fd = os.open(Path(folder) / layout.LOCK, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _holder(fd)
    finally:
        os.close(fd)
    return None
