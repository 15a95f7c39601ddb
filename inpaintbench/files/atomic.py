"""Writing files so that neither a kill, a second writer nor a full disk leaves half a file behind.

Every file is written to a temporary name unique to this process and renamed over its final name only
when complete, so a reader sees the old file or the new one, and two processes never write one
temporary file; a write that fails removes its temporary file. A full disk is the user's to fix, not a
bug: it becomes ``DiskFull``, one line naming the file that could not be written.
"""

from __future__ import annotations

import errno
import os
import resource
import sqlite3
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import InpaintbenchError

#: errno values that mean "the device (or the user's quota) is full".
NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})
FULL = "no space left on the device"
#: EFBIG: the file size limit (``ulimit -f``; Python ignores its SIGXFSZ), as much the user's to lift as
#: a full disk. SQLite reports it as an I/O error of the call that grew a file, with no errno.
SIZE_LIMIT = "no room under the file size limit (ulimit -f)"
SQLITE_GROWING = frozenset({"SQLITE_IOERR_WRITE", "SQLITE_IOERR_SHMSIZE", "SQLITE_IOERR_TRUNCATE"})


class DiskFull(InpaintbenchError):
    """No space left to write ``path``; exit status 1 (the command is incomplete, its input was fine)."""

    exit_status = 1

    def __init__(
        self, path: Path, advice: str = "free some space and run the command again", reason: str = FULL
    ) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{reason} to write {path}: {advice}")


def kind(path: Path, flag: str) -> str | None:
    """ "file", "folder" or None (nothing there) at ``path``; a path that cannot even be looked up (a name
    too long, a folder that cannot be read) is one line naming the option ``flag`` that gave it."""
    try:
        if not path.exists():
            return None
        return "folder" if path.is_dir() else "file"
    except OSError as exc:
        raise InpaintbenchError(f"{flag} {path}: {exc.strerror}") from None


def no_space(exc: BaseException) -> str | None:
    """Why ``exc`` means the user must make room (``FULL`` or ``SIZE_LIMIT``), or None when it does not:
    the operating system's or SQLite's way of saying the disk is full, or a file reached the size limit."""
    if isinstance(exc, OSError):
        return FULL if exc.errno in NO_SPACE else SIZE_LIMIT if exc.errno == errno.EFBIG else None
    if not isinstance(exc, sqlite3.OperationalError):
        return None
    name = getattr(exc, "sqlite_errorname", None)
    if name == "SQLITE_FULL" or str(exc) == "database or disk is full":
        return FULL
    limited = resource.getrlimit(resource.RLIMIT_FSIZE)[0] != resource.RLIM_INFINITY
    return SIZE_LIMIT if name in SQLITE_GROWING and limited else None


@contextmanager
def writing(path: Path) -> Iterator[None]:
    """Turn a full disk while writing ``path`` into ``DiskFull`` naming it (a failed ``write()``
    names no file)."""
    try:
        yield
    except (OSError, sqlite3.OperationalError) as exc:
        reason = no_space(exc)
        if reason is not None:
            raise DiskFull(path, reason=reason) from None
        raise


def write_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """``write(tmp)`` to a temporary file next to ``path``, then rename it over ``path``."""
    path = Path(path)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        with writing(path):
            path.parent.mkdir(parents=True, exist_ok=True)
            write(tmp)
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def check_replaceable(path: Path, flag: str) -> None:
    """``path`` is nothing yet or a regular file, which ``write_atomically`` may replace: a folder, a FIFO
    or a device (``-o /dev/null``) is one line naming ``flag``."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise InpaintbenchError(f"{flag} {path}: {exc.strerror}") from None
    if not stat.S_ISREG(mode):
        what = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
        raise InpaintbenchError(f"{flag} {path} is {what}: give the name of a file to write")


def write_text(path: Path, text: str) -> None:
    """``text`` as UTF-8; a file name that was not UTF-8 (Python holds its bytes as surrogates) is written
    escaped, as Python writes it, since UTF-8 cannot hold it as it is."""
    write_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8", errors="backslashreplace"))
