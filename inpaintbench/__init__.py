"""inpaintbench: a plugin-based benchmark suite for image inpainting.

The public API for plugin authors lives here; nothing in it imports torch.
"""

from .cache import building
from .components import (
    HOLE_VALUE,
    Batch,
    Dataset,
    MaskGenerator,
    Metric,
    MetricUnavailable,
    Model,
    PrepareContext,
    Sample,
    SetMetric,
    TrainSplit,
)
from .device import resolve_device
from .errors import InpaintbenchError
from .hookspecs import hookimpl
from .plugins import get_registry
from .runner.shared.distributed import World
from .seeding import mask_rng, stable_seed
from .version import __version__

__all__ = [
    "HOLE_VALUE",
    "Batch",
    "Dataset",
    "InpaintbenchError",
    "MaskGenerator",
    "Metric",
    "MetricUnavailable",
    "Model",
    "PrepareContext",
    "Sample",
    "SetMetric",
    "TrainSplit",
    "World",
    "__version__",
    "building",
    "get_registry",
    "hookimpl",
    "mask_rng",
    "resolve_device",
    "stable_seed",
]
