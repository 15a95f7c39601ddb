"""Plugin errors: one line for the terminal and run.json, the whole traceback in the run's log file.

A model, metric or mask plugin that raises is the plugin author's bug to fix, and they need its
traceback; the user needs one line saying which component failed. Both are kept: the traceback is
appended to ``errors.log`` in the run folder (and printed with ``--debug``).
"""

from __future__ import annotations

import os
import sys
import traceback
from datetime import datetime, timezone
from pathlib import Path

from ...files import layout
from ...files.atomic import writing
from ...files.owned import open_owned


class ErrorLog:
    def __init__(self, run_dir: Path, debug: bool = False) -> None:
        self.path = Path(run_dir) / layout.ERRORS_LOG
        self.debug = debug

    def record(self, what: str, exc: BaseException) -> None:
        """Append ``what`` (which component, at which stage) and the full traceback of ``exc``."""
        trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with writing(self.path):
            fd = open_owned(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)  # never a link's target
            with os.fdopen(fd, "a", encoding="utf-8") as log:
                log.write(f"--- {stamp} {what}\n{trace}\n")
        if self.debug:
            print(f"--- {what}\n{trace}", file=sys.stderr, end="")
