"""Built-in datasets, registered through the same hook as third-party plugins."""

from ..hookspecs import hookimpl


@hookimpl
def register_datasets(register) -> None:
    pass
