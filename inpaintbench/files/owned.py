"""A command writes only what it owns: never through a symbolic link, which would put its files (a
lock's pid, an error log's tracebacks, a run's PNGs) wherever the link points.

Before a command writes into a folder it checks each name there it will write, and everything below
those names, for links and for anything that is neither a file nor a folder (``refuse_links``); a file
it opens rather than replaces (the lock, the error log) is opened with ``O_NOFOLLOW`` as well
(``open_owned``), so a link made after the check is refused too. Files written by ``write_atomically``
replace what is at their name, a link included, and never write through it.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from ..errors import InpaintbenchError


class NotOwned(InpaintbenchError):
    """A path where a command would write holds something it did not create (a link, a FIFO)."""

    def __init__(self, path: Path, what: str) -> None:
        super().__init__(
            f"{path} is {what}: inpaintbench writes only what it created there; remove it, or give "
            "another folder"
        )


def _check(path: Path, mode: int) -> None:
    if stat.S_ISLNK(mode):
        raise NotOwned(path, "a symbolic link")
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise NotOwned(path, "not a regular file")


def refuse_links(folder: Path, names: Iterable[str]) -> None:
    """Refuse a link or special file at ``folder/NAME`` for each of ``names``, or anywhere below one
    that is a folder, before anything there is written."""
    pending: list[Path] = []
    for name in names:
        path = Path(folder) / name
        try:
            mode = path.lstat().st_mode
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise InpaintbenchError(f"cannot look up {path}: {exc.strerror}") from None
        _check(path, mode)
        if stat.S_ISDIR(mode):
            pending.append(path)
    while pending:  # a stack, not recursion: a folder nested thousands deep is still one line
        here = pending.pop()
        try:
            entries = list(os.scandir(here))
        except OSError as exc:
            raise InpaintbenchError(f"cannot list {here}: {exc.strerror}") from None
        for entry in entries:  # the types from the listing itself: no system call per file
            if entry.is_symlink():
                raise NotOwned(Path(entry.path), "a symbolic link")
            if entry.is_dir(follow_symlinks=False):
                pending.append(Path(entry.path))
            elif not entry.is_file(follow_symlinks=False):
                raise NotOwned(Path(entry.path), "not a regular file")


def open_owned(path: Path, flags: int, mode: int = 0o644) -> int:
    """``os.open`` that never follows a link at ``path`` (a link is ``NotOwned``)."""
    try:
        return os.open(path, flags | os.O_NOFOLLOW, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotOwned(path, "a symbolic link") from None
        raise
