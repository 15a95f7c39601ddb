"""The report's folder: where a render may write, and which files it may delete.

A render writes into a new or empty folder, a folder an earlier render wrote (it holds
``REPORT_RECORD``, the list of the files that render wrote), or the run folder whose own report it is.
It deletes only files that list names, so a user's index.html or pictures in a folder given by
mistake, another run's report, or whatever a link in it points to are never replaced or removed.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import InpaintbenchError
from ..files import layout
from ..files.atomic import kind, write_text, writing
from ..files.owned import refuse_links

FORMAT = "inpaintbench-report/1"


class ReportFolder:
    """A folder claimed for one render: ``finish`` records what it wrote and removes what it no longer
    shows."""

    def __init__(self, path: Path, own_run: bool = False) -> None:
        """Claim ``path`` (created when missing); ``own_run``: it is the run folder being reported, which
        the run owns, rather than a folder given with ``-o``."""
        self.path = Path(path)
        self.record = self.path / layout.REPORT_RECORD
        found = kind(self.path, "-o")
        if found == "file":
            raise InpaintbenchError(
                f"{self.path} is a file, not a folder: the report is written to FOLDER/index.html"
            )
        if found == "folder" and not own_run:
            self._refuse_foreign()
        refuse_links(self.path, layout.REPORT_FILES)
        try:
            with writing(self.path):
                self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InpaintbenchError(f"cannot create the report folder {self.path}: {exc.strerror}") from None
        self.earlier = self._written_before()
        # from here on the old page would be stale; a render that fails (a full disk, even for the
        # record) must not leave it looking current
        if layout.INDEX_HTML in self.earlier:
            (self.path / layout.INDEX_HTML).unlink(missing_ok=True)
        self._write_record(sorted(self.earlier))  # marked as a report folder before anything lands in it

    def _refuse_foreign(self) -> None:
        if kind(self.path / layout.RUN_JSON, "-o") == "file":
            raise InpaintbenchError(
                f"-o {self.path} is a run folder, whose report its run writes: give the report its own folder"
            )
        try:
            empty = not any(self.path.iterdir())
        except OSError as exc:
            raise InpaintbenchError(f"-o {self.path}: {exc.strerror}") from None
        if not empty and kind(self.record, "-o") != "file":
            raise InpaintbenchError(
                f"-o {self.path} holds files no inpaintbench report wrote: give a new or empty folder, "
                "or one an earlier report was written to"
            )

    def _written_before(self) -> set[str]:
        """The files the record names that a report writes: anything else in it is not ours to delete."""
        try:
            doc = json.loads(self.record.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return set()
        except (OSError, ValueError):
            doc = None
        names = doc.get("files") if isinstance(doc, dict) else None
        if not isinstance(names, list):
            raise InpaintbenchError(
                f"{self.record} is damaged: delete the report folder {self.path}, or give another -o"
            )
        return {name for name in names if isinstance(name, str) and _report_file(name)}

    def _write_record(self, files: list[str]) -> None:
        write_text(self.record, json.dumps({"format": FORMAT, "files": files}, indent=1))

    def finish(self, written: list[str]) -> None:
        """Record ``written`` (paths relative to the folder), then delete what the earlier render wrote
        and this one did not."""
        self._write_record(sorted(set(written)))
        for name in sorted(self.earlier - set(written)):
            (self.path / name).unlink(missing_ok=True)


def _report_file(name: str) -> bool:
    """index.html, or one picture directly in assets/: a record edited to name ``../x`` deletes nothing."""
    parts = name.split("/")
    return name == layout.INDEX_HTML or (
        len(parts) == 2 and parts[0] == layout.ASSETS_DIR and parts[1] not in ("", ".", "..")
    )
