"""Any folder of images, searched recursively; the same images serve every split."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

from ..components import Dataset, Sample
from ..errors import InpaintbenchError
from .images import fit_square, read_image


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
        """Every file below the root in POSIX-path order, hidden files and folders left out."""
        found = (p for p in self.root.rglob("*") if p.is_file())
        visible = (
            p for p in found if not any(part.startswith(".") for part in p.relative_to(self.root).parts)
        )
        return sorted(visible, key=lambda p: p.relative_to(self.root).as_posix())

    def samples(self, split: str, image_size: int) -> Iterator[Sample]:
        """Ids are POSIX paths relative to the root; unreadable files are skipped with a warning."""
        loaded = 0
        for path in self.files():
            try:
                image = fit_square(read_image(path), image_size)
            except Exception as exc:  # a bad file must never stop the run
                self._skip(path, f"{type(exc).__name__}: {exc}")
                continue
            loaded += 1
            yield Sample(path.relative_to(self.root).as_posix(), image)
        if loaded == 0:
            raise InpaintbenchError(f"dataset folder '{self.root}' holds no readable images")

    def _skip(self, path: Path, reason: str) -> None:
        """Warn and record once, although ``samples`` runs once per split."""
        if any(entry["path"] == str(path) for entry in self.skipped):
            return
        print(f"warning: skipped {path}: {reason}", file=sys.stderr)
        self.skipped.append({"path": str(path), "reason": reason})
