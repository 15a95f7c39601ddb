"""The command line's last line of defence: no traceback reaches the user unasked.

An ``InpaintbenchError`` is the user's to fix and prints as one line (exit 2, or its ``exit_status``:
1 for a full disk, where the input was fine but the work is incomplete). Ctrl-C anywhere is one
line (exit 130): work already finished is on disk. Anything else is a bug, in inpaintbench or in a
plugin: one line naming the exception and the file holding its full traceback (exit 1), so nothing
needed for a bug report is lost; ``--debug`` prints the traceback too.
"""

from __future__ import annotations

import sys
import tempfile
import traceback
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from .cache import cache_dir
from .errors import InpaintbenchError, printable

INTERRUPTED = 130


def crash_log(exc: BaseException, argv: list[str]) -> Path:
    """Write the traceback to ``$INPAINTBENCH_HOME/crashes/`` (or the temp folder when that is not
    writable, a full disk for instance) and return the file."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-%f")
    text = "inpaintbench " + " ".join(argv) + "\n\n" + "".join(traceback.format_exception(exc))
    for folder in (cache_dir() / "crashes", Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"inpaintbench-crash-{stamp}.log"
            path.write_text(text, encoding="utf-8", errors="backslashreplace")  # argv may not be UTF-8
            return path
        except OSError:
            continue
    return Path("(not written: no writable folder)")


def guarded(command: Callable[[], int], argv: list[str], debug: bool) -> int:
    """Run ``command`` and turn every way it can end into an exit status and at most a few lines."""
    try:
        return command()
    except InpaintbenchError as exc:
        print(f"error: {printable(str(exc))}", file=sys.stderr)
        return getattr(exc, "exit_status", 2)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return INTERRUPTED
    except Exception as exc:
        path = crash_log(exc, argv)
        if debug:
            traceback.print_exception(exc, file=sys.stderr)
        text = " ".join(str(exc).split()) or "(no message)"
        print(
            f"error: unexpected {type(exc).__name__}: {text}; full traceback in {path} "
            "(please report it; --debug prints it)",
            file=sys.stderr,
        )
        return 1
