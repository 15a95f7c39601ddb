"""Built-in datasets, registered through the same hook as third-party plugins."""

from ..hookspecs import hookimpl
from .evalset import EvalSetDataset
from .folder import FolderDataset
from .recipes import CelebAHQ, ParisStreetView, Places365
from .samples import SamplesDataset


@hookimpl
def register_datasets(register) -> None:
    register(SamplesDataset)
    register(FolderDataset)
    for cls in (ParisStreetView, CelebAHQ, Places365, EvalSetDataset):
        register(cls)
