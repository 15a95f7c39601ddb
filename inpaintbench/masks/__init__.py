"""Built-in masks, registered through the same hook as third-party plugins."""

from ..hookspecs import hookimpl


@hookimpl
def register_masks(register) -> None:
    pass
