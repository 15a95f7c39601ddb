"""The command line run in this process, as pytest's ``pytester`` runs pytest: a plugin's tests (and
inpaintbench's own) drive ``inpaintbench ...`` with given plugins without paying a new process and a
torch import per command.

``invoke`` runs ``cli.main`` with the plugins given (or the entry points the environment allows), the
environment variables and working folder given, and stdout/stderr captured; everything it changed is
put back afterwards. ``run_rows`` runs a small ``inpaintbench run`` and returns its ``results.csv``
rows. What needs a process of its own (a signal, a kill, torchrun, a memory ceiling, a check that torch
is not imported) still needs one: use ``subprocess`` for those.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .. import plugins as plugin_registry


@dataclass
class Result:
    """How the command ended: its exit status and what it printed."""

    returncode: int
    stdout: str
    stderr: str


def invoke(
    args: Sequence[str],
    *,
    plugins: Sequence[object] | None = None,
    cwd: Path | str | None = None,
    env: Mapping[str, str | None] | None = None,
) -> Result:
    """``inpaintbench ARGS`` in this process. ``plugins``: modules or objects with hooks registered
    beside the built-ins instead of the entry points (None: the entry points ``INPAINTBENCH_PLUGINS``
    allows); ``env``: variables set (a None value unsets one) for the command alone."""
    from ..cli import main

    out, err = io.StringIO(), io.StringIO()
    with (
        _environment(env or {}),
        _folder(cwd),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        try:
            with plugin_registry.using(plugins):
                status = main([str(arg) for arg in args])
        except SystemExit as exc:  # argparse: a usage error (2) or --help (0)
            status = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
    return Result(status, out.getvalue(), err.getvalue())


def run_rows(
    args: Sequence[str],
    out: Path | str,
    *,
    plugins: Sequence[object] | None = None,
    cwd: Path | str | None = None,
    env: Mapping[str, str | None] | None = None,
) -> list[dict[str, str]]:
    """``inpaintbench run ARGS --out OUT --no-progress`` in this process (as ``invoke``) and the rows
    of its results.csv; a run that does not end with exit 0 fails with what it printed."""
    result = invoke(["run", *args, "--out", str(out), "--no-progress"], plugins=plugins, cwd=cwd, env=env)
    if result.returncode != 0:
        raise AssertionError(f"inpaintbench run exited {result.returncode}:\n{result.stderr}")
    with open(Path(out) / "results.csv", newline="") as file:
        return list(csv.DictReader(file))


@contextlib.contextmanager
def _environment(changes: Mapping[str, str | None]) -> Iterator[None]:
    before = dict(os.environ)
    for key, value in changes.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(before)


@contextlib.contextmanager
def _folder(cwd: Path | str | None) -> Iterator[None]:
    before = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(before)
