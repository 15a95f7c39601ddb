"""Errors the CLI turns into one clear line, and warnings that stay one line whatever names they hold."""

from __future__ import annotations

import sys


class InpaintbenchError(Exception):
    """A problem with the user's input or environment; the message names the file or option."""


def one_line(exc: BaseException) -> str:
    """``Type: message`` on one line, as the terminal and run.json show it."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def printable(text: str) -> str:
    """``text`` on one line however it was typed: a newline, an escape sequence or an undecodable byte in
    a name is shown escaped, as Python writes it."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def warn(text: str) -> None:
    """``warning: TEXT`` on stderr, escaped: a file name cannot move the cursor, colour the terminal or
    start a line of its own (a forged ``error:`` line)."""
    print(f"warning: {printable(text)}", file=sys.stderr)
