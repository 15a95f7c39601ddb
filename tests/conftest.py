"""Shared helpers: run the real CLI, in this process (``inpaintbench.testing.cli``) or in a subprocess
where a test needs a process of its own, with the test plugins on the path."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

PLUGIN_SITE = Path(__file__).parent / "plugin_site"


def cli_env(plugins: str | None = "toy", **extra: str) -> dict[str, str]:
    """Environment with the dist-info test plugins importable; ``plugins`` limits which load."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PLUGIN_SITE), env.get("PYTHONPATH")]))
    if plugins is None:
        env.pop("INPAINTBENCH_PLUGINS", None)
    else:
        env["INPAINTBENCH_PLUGINS"] = plugins
    env.update(extra)
    return env


def run_cli(*args: str, plugins: str | None = "toy", cwd: Path | None = None, **extra: str):
    return subprocess.run(
        [sys.executable, "-m", "inpaintbench", *args],
        capture_output=True,
        text=True,
        env=cli_env(plugins, **extra),
        cwd=cwd,
        timeout=600,
    )


def stored_rows(db_path: Path) -> int:
    """Result rows committed to a run's SQLite store so far (0 before it exists)."""
    try:
        with sqlite3.connect(db_path) as db:
            return db.execute("SELECT COUNT(*) FROM samples").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def kill_part_way(args: list[str], out: Path, rows: int, timeout: float = 300, **env: str) -> int:
    """Start ``inpaintbench ARGS --out OUT``, SIGKILL it once ``rows`` results are committed, and return
    how many rows the store kept."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "inpaintbench", *args, "--out", str(out)],
        env=cli_env(**env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + timeout
    while stored_rows(out / "results.sqlite") < rows and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return stored_rows(out / "results.sqlite")


def cli_in_process(*args: str, plugins: str | None = "toy", cwd: Path | None = None, **extra: str):
    """``run_cli`` in this process: the entry points of the test plugins, limited by ``plugins`` as
    ``INPAINTBENCH_PLUGINS`` limits them, and the environment changed by ``extra`` for the command."""
    from inpaintbench.testing.cli import invoke

    sys.path.insert(0, str(PLUGIN_SITE))
    try:
        return invoke(args, cwd=cwd, env={"INPAINTBENCH_PLUGINS": plugins, **extra})
    finally:
        sys.path.remove(str(PLUGIN_SITE))


@pytest.fixture
def cli():
    return cli_in_process


#: The images of the ``places`` fixture's Places365 copy.
PLACES_NAMES = [f"Places365_val_{i:08d}.jpg" for i in range(1, 7)]


@pytest.fixture
def places(tmp_path, monkeypatch):
    """A Places365 copy of six 640 x 480 noise images under val_large/, and a recipe listing them."""
    import numpy as np
    from PIL import Image
    from test_recipes import reduced

    from inpaintbench.datasets.recipes import ENV_VAR

    monkeypatch.setenv(ENV_VAR, str(reduced(tmp_path, "places365", lists={"test": PLACES_NAMES})))
    folder = tmp_path / "places" / "val_large"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in PLACES_NAMES:
        Image.fromarray(rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)).save(folder / name, quality=95)
    return folder.parent
