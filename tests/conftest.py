"""Shared helpers: run the real CLI in a subprocess with the test plugins on the path."""

from __future__ import annotations

import os
import subprocess
import sys
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
        [sys.executable, "-m", "inpaintbench.cli", *args],
        capture_output=True,
        text=True,
        env=cli_env(plugins, **extra),
        cwd=cwd,
        timeout=600,
    )


@pytest.fixture
def cli():
    return run_cli
