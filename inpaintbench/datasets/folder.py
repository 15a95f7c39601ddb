"""Any folder of images, searched recursively; the same images serve every split."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path

from ..components import Dataset, Sample
from ..errors import InpaintbenchError, warn
from ..images import list_files, load_square
from .entries import Entry, Loaded, decode_in_order


class FolderDataset(Dataset):
    name = "folder"
    description = "every image under a folder (folder:PATH), short side resized and centre-cropped"
    has_splits = False
    argument = "PATH of the folder"

    def __init__(self, arg: str | None = None) -> None:
        super().__init__(arg)
        if not arg:
            raise InpaintbenchError("dataset 'folder' needs a path: folder:PATH")
        self.root = Path(arg).expanduser()
        if not self.root.is_dir():
            raise InpaintbenchError(f"dataset folder '{self.root}' does not exist or is not a folder")

    def files(self) -> list[Path]:
        """Every regular file below the root in POSIX-path order (``images.list_files``); what is
        left out is recorded in ``skipped`` with the reason, never dropped silently."""
        return list_files(self.root, self._skip)

    def samples(self, split: str, image_size: int) -> Iterator[Sample]:
        """Ids are POSIX paths relative to the root; unreadable files are skipped with a warning."""
        loaded = 0
        for entry, image in decode_in_order(self.lazy_samples(split, image_size)):
            loaded += 1
            yield Sample(entry.image_id, image.image)
        if loaded == 0:
            raise InpaintbenchError(f"dataset folder '{self.root}' holds no readable images")

    def lazy_samples(self, split: str, image_size: int) -> Iterator[Entry]:
        """One entry per file in path order (``entries.py``); a file that does not decode is skipped."""
        files = self.files()
        if not files:
            raise InpaintbenchError(f"dataset folder '{self.root}' holds no readable images")
        for path in files:
            yield Entry(
                path.relative_to(self.root).as_posix(),
                partial(_read_square, path, image_size),
                partial(self._skip_failed, path),
            )

    def source_path(self, image_id: str) -> Path | None:
        path = self.root / image_id
        return path if path.is_file() else None

    def _skip_failed(self, path: Path, exc: BaseException) -> None:
        self._skip(path, f"{type(exc).__name__}: {exc}")

    def _skip(self, path: Path, reason: str) -> None:
        """Warn and record once, although ``samples`` runs once per split."""
        if any(entry["path"] == str(path) for entry in self.skipped):
            return
        warn(f"skipped {path}: {reason}")
        self.skipped.append({"path": str(path), "reason": reason})


def _read_square(path: Path, size: int) -> Loaded:
    image, lossless = load_square(path, size)
    return Loaded(image, source=path if lossless else None)
