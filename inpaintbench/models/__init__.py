"""Built-in models, registered through the same hook as third-party plugins."""

from ..hookspecs import hookimpl
from .biharmonic import Biharmonic
from .mean_fill import MeanFill


@hookimpl
def register_models(register) -> None:
    register(MeanFill)
    register(Biharmonic)
