"""Built-in models, registered through the same hook as third-party plugins."""

from ..hookspecs import hookimpl
from .biharmonic import Biharmonic
from .diffusion import DiffusersModel
from .files import ExportedModel, OnnxModel, TorchScriptModel
from .mean_fill import MeanFill
from .opencv import OpenCVNavierStokes, OpenCVTelea
from .predictions import Predictions


@hookimpl
def register_models(register) -> None:
    for cls in (MeanFill, Biharmonic, OpenCVTelea, OpenCVNavierStokes, Predictions,
                TorchScriptModel, ExportedModel, OnnxModel, DiffusersModel):  # fmt: skip
        register(cls)
