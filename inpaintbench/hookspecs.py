"""The four hooks every inpaintbench plugin may implement.

Each hook receives a ``register`` callback rather than returning a list, so a plugin can register
any number of components and the host knows which plugin registered each one.
"""

from __future__ import annotations

from collections.abc import Callable

import pluggy

hookspec = pluggy.HookspecMarker("inpaintbench")
hookimpl = pluggy.HookimplMarker("inpaintbench")


@hookspec
def register_models(register: Callable) -> None:
    """Register Model subclasses: ``register(MyModel)``."""


@hookspec
def register_masks(register: Callable) -> None:
    """Register MaskGenerator subclasses: ``register(MyMasks)``."""


@hookspec
def register_metrics(register: Callable) -> None:
    """Register Metric (or SetMetric) subclasses: ``register(MyMetric)``."""


@hookspec
def register_datasets(register: Callable) -> None:
    """Register Dataset subclasses: ``register(MyDataset)``."""
