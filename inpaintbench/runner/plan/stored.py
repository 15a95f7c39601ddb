"""Reading a run folder's settings back for ``--resume``, trusting nothing in ``run.json``.

A hand-edited or foreign ``run.json`` must give one line naming the file and the bad field, not a
traceback or a confusing message later (``models: "mean_fill"`` read as the models m, e, a, ...).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...errors import InpaintbenchError
from ...files import layout
from ...files.atomic import kind
from ...files.run_json import read_run_json
from .config import RunConfig

#: The type each stored setting must have (``RunConfig``'s own); NoneType marks one that may be null.
FIELDS: dict[str, tuple[type, ...]] = RunConfig.types()
LISTS = ("models", "masks", "metrics")


def stored_config(run_dir: Path) -> dict[str, Any]:
    """The ``config`` object of ``run_dir/run.json``, checked field by field."""
    path = Path(run_dir) / layout.RUN_JSON
    if kind(path, "--resume") != "file":
        if any(kind(Path(run_dir) / name, "--resume") == "file" for name in (layout.RESULTS_DB, layout.LOCK)):
            raise InpaintbenchError(
                f"--resume {run_dir}: the run was stopped before it wrote {path}, so its settings are not "
                f"known: run the command that started it again (with --out {run_dir}); it keeps what is "
                "stored"
            )
        raise InpaintbenchError(f"--resume {run_dir}: {path} is missing; is this a run folder?")
    try:
        doc = read_run_json(run_dir)
    except InpaintbenchError as exc:
        raise InpaintbenchError(f"--resume {run_dir}: {exc}") from None
    config = doc.get("config")
    if not isinstance(config, dict):
        raise InpaintbenchError(f"--resume {run_dir}: {path} has no 'config' object")
    for key, types in FIELDS.items():
        if key not in config:
            continue
        value = config[key]
        wrong = not isinstance(value, types) or (bool in types) != isinstance(value, bool)
        if key in LISTS and not wrong:
            wrong = not value or not all(isinstance(item, str) and item for item in value)
        if key == "options" and not wrong:
            wrong = not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
        if wrong:
            raise InpaintbenchError(f"--resume {run_dir}: {path} has an unusable config.{key}: {value!r}")
    missing = [key for key in ("models", "masks") if key not in config]
    if missing:
        raise InpaintbenchError(f"--resume {run_dir}: {path} has no config.{missing[0]}")
    return config
