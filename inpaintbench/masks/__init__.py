"""Built-in masks, registered through the same hook as third-party plugins."""

from ..hookspecs import hookimpl
from .block import BlockMask
from .center import CenterMask
from .freeform import FreeFormMask
from .random_region import RandomRegionMask


@hookimpl
def register_masks(register) -> None:
    for cls in (CenterMask, RandomRegionMask, BlockMask, FreeFormMask):
        register(cls)
