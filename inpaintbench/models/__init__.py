"""Built-in models, registered through the same hook as third-party plugins."""

from ..hookspecs import hookimpl


@hookimpl
def register_models(register) -> None:
    pass
