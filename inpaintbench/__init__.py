"""inpaintbench: a plugin-based benchmark suite for image inpainting.

The public API for plugin authors lives here; nothing in it imports torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: Where each public name lives. They are imported on first use (PEP 562), so ``import inpaintbench``
#: (which every submodule and the command line start with) costs nothing until the API is used.
_HOMES = {
    **dict.fromkeys(
        (
            "HOLE_VALUE",
            "Batch",
            "Dataset",
            "MaskGenerator",
            "Metric",
            "MetricUnavailable",
            "Model",
            "PrepareContext",
            "Sample",
            "SetMetric",
            "TrainSplit",
        ),
        "components",
    ),  # fmt: skip
    "building": "cache",
    "resolve_device": "device",
    "InpaintbenchError": "errors",
    "hookimpl": "hookspecs",
    "get_registry": "plugins",
    "World": "runner.shared.distributed",
    "mask_rng": "seeding",
    "stable_seed": "seeding",
    "__version__": "version",
}

if TYPE_CHECKING:
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


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'inpaintbench' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


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
