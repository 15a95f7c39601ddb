"""Built-in models, registered through the same hook as third-party plugins."""

from ..hookspecs import hookimpl
from .biharmonic import Biharmonic
from .mean_fill import MeanFill
from .opencv import OpenCVNavierStokes, OpenCVTelea
from .predictions import Predictions


@hookimpl
def register_models(register) -> None:
    for cls in (MeanFill, Biharmonic, OpenCVTelea, OpenCVNavierStokes, Predictions):
        register(cls)
