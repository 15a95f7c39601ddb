"""Errors the CLI turns into one clear line."""


class InpaintbenchError(Exception):
    """A problem with the user's input or environment; the message names the file or option."""


def one_line(exc: BaseException) -> str:
    """``Type: message`` on one line, as the terminal and run.json show it."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
