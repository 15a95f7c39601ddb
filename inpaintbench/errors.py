"""Errors the CLI turns into one clear line."""


class InpaintbenchError(Exception):
    """A problem with the user's input or environment; the message names the file or option."""
