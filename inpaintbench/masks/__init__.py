"""Built-in masks, registered through the same hook as third-party plugins."""

from ..hookspecs import hookimpl
from .block import BlockMask
from .center import CenterMask
from .external import FolderMasks
from .freeform import FreeFormMask
from .lama import LamaMedium, LamaThick, LamaThin
from .ntire import CompletionMask, EveryNLines, ExpandMask, NearestNeighbourMask
from .random_region import RandomRegionMask
from .ratio import RatioMask


@hookimpl
def register_masks(register) -> None:
    for cls in (CenterMask, RandomRegionMask, BlockMask, FreeFormMask):
        register(cls)
    for cls in (LamaThin, LamaMedium, LamaThick, RatioMask, FolderMasks):
        register(cls)
    for cls in (EveryNLines, CompletionMask, ExpandMask, NearestNeighbourMask):
        register(cls)
