"""Any folder of images, searched recursively; the same images serve every split."""

from __future__ import annotations

import os
import stat
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
        """Every regular file below the root in POSIX-path order. What is left out is recorded in
        ``skipped`` with the reason, never dropped silently: hidden names (a leading dot), anything
        that is not a regular file (a FIFO would hang the read), broken links, folders that cannot be
        listed, and links back to a folder already walked (a loop)."""
        found: list[Path] = []
        seen: set[Path] = set()

        def listing_failed(error: OSError) -> None:
            self._skip(Path(error.filename or self.root), f"cannot be listed: {error.strerror}")

        for folder, dirs, names in os.walk(self.root, onerror=listing_failed, followlinks=True):
            here = Path(folder)
            real = here.resolve()
            if real in seen:
                self._skip(here, "a link to a folder already read (a loop); not read again")
                dirs.clear()
                continue
            seen.add(real)
            for name in [d for d in dirs if d.startswith(".")]:
                self._skip(here / name, "hidden folder (its name starts with a dot)")
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(names):
                path = here / name
                if name.startswith("."):
                    self._skip(path, "hidden file (its name starts with a dot)")
                elif not path.exists():
                    self._skip(path, "broken symbolic link")
                elif not stat.S_ISREG(path.stat().st_mode):
                    self._skip(path, "not a regular file")
                else:
                    found.append(path)
        return sorted(found, key=lambda p: p.relative_to(self.root).as_posix())

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
