"""Built-in metrics, registered through the same hook as third-party plugins."""

from ..hookspecs import hookimpl


@hookimpl
def register_metrics(register) -> None:
    pass
