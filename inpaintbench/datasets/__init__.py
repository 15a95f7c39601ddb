"""Built-in datasets, registered through the same hook as third-party plugins."""

from ..hookspecs import hookimpl
from .folder import FolderDataset
from .samples import SamplesDataset


@hookimpl
def register_datasets(register) -> None:
    register(SamplesDataset)
    register(FolderDataset)
