"""``inpaintbench new plugin``: the distribution it writes installs, registers, passes its tests and runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import cli_env, cli_in_process

FILES = ("pyproject.toml", "README.md", "src/demo/__init__.py", "tests/test_contract.py")


def test_new_plugin_writes_the_distribution(tmp_path):
    out = tmp_path / "demo"
    result = cli_in_process("new", "plugin", "demo", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == sorted(FILES)
    pyproject = (out / "pyproject.toml").read_text()
    for line in (
        'name = "demo"',
        'dependencies = ["inpaintbench"]',
        'demo = "demo"',
        'testpaths = ["tests"]',
    ):
        assert line in pyproject
    code = (out / "src/demo/__init__.py").read_text()
    assert all(f'name = "demo_{c}"' in code for c in ("blur", "stripes", "max_error"))
    readme = (out / "README.md").read_text()
    assert "pip install -e demo" in readme and "pytest demo" in readme
    assert "--model demo_blur --masks demo_stripes,center --metrics psnr,demo_max_error" in readme
    assert f"next: pip install -e {out} && pytest {out}" in result.stdout


def test_the_name_is_normalised_and_the_folder_defaults_to_it(tmp_path):
    result = cli_in_process("new", "plugin", "My.Fancy-Plugin", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "My.Fancy-Plugin"
    assert 'my_fancy_plugin = "my_fancy_plugin"' in (out / "pyproject.toml").read_text()
    assert 'name = "my_fancy_plugin_blur"' in (out / "src/my_fancy_plugin/__init__.py").read_text()


def test_an_empty_folder_is_used_and_a_full_one_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    assert cli_in_process("new", "plugin", "demo", "--out", str(tmp_path / "empty")).returncode == 0
    full = tmp_path / "full"
    full.mkdir()
    (full / "notes.txt").write_text("mine")
    result = cli_in_process("new", "plugin", "demo", "--out", str(full))
    assert result.returncode == 2
    assert result.stderr == f"error: {full} already exists and is not empty; choose another --out\n"
    assert [p.name for p in full.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("bad name", "is not a distribution name"),
        ("demo-", "is not a distribution name"),
        ("9lives", "does not begin with a letter"),
        ("class", "is a Python keyword"),
        ("json", "would shadow the module of that name"),
        ("inpaintbench", "would shadow the module of that name"),
    ],
)
def test_a_bad_name_is_a_one_line_error(tmp_path, name, words):
    result = cli_in_process("new", "plugin", name, "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: '{name}' ") and words in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_new_plugin_does_not_import_torch(tmp_path):
    code = (
        "import sys; from inpaintbench.cli import main\n"
        f"assert main(['new', 'plugin', 'demo', '--out', {str(tmp_path / 'demo')!r}]) == 0\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=cli_env())
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_the_generated_plugin_installs_passes_its_tests_and_runs(tmp_path):
    """The whole path a plugin author takes, in a fresh virtual environment. Nothing can be downloaded
    here, so the venv sees this machine's packages (``--system-site-packages``: torch, pytest, and the
    editable inpaintbench itself) and pip installs only the plugin, without dependencies or build
    isolation. ``--without-pip``: the pip and old setuptools that ensurepip would put into the venv
    would shadow this machine's setuptools, which alone builds editable wheels here. The venv has no
    ``bin/inpaintbench`` (inpaintbench is installed outside it), so the CLI runs as ``-m inpaintbench.cli``
    under the venv's interpreter; from ``tmp_path``, the parent of the project folder ``demo``, which
    the generated src layout keeps from shadowing the installed package."""
    demo, venv = tmp_path / "demo", tmp_path / "venv"
    assert cli_in_process("new", "plugin", "demo", "--out", str(demo)).returncode == 0
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", venv], check=True
    )
    python = str(venv / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "INPAINTBENCH_PLUGINS")}
    env["INPAINTBENCH_HOME"] = str(tmp_path / "home")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [python, *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600
        )

    installed = run(
        "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index", "-e", str(demo)
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    tests = run("-m", "pytest", "-p", "no:cacheprovider", "demo")
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "5 passed" in tests.stdout

    listed = run("-m", "inpaintbench", "plugins", "--json")
    assert listed.returncode == 0, listed.stderr
    plugins = {p["name"]: p for p in json.loads(listed.stdout)}
    assert plugins["demo"]["registers"] == {
        "model": ["demo_blur"],
        "mask": ["demo_stripes"],
        "metric": ["demo_max_error"],
    }
    assert plugins["demo"]["version"] == "0.1.0" and plugins["demo"]["builtin"] is False

    out = tmp_path / "run"
    ran = run(
        "-m", "inpaintbench", "run", "--model", "demo_blur", "--masks", "demo_stripes,center",
        "--metrics", "psnr,demo_max_error", "--limit", "4", "--out", str(out), "--no-progress",
        "--no-references",
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    results = pd.read_csv(out / "results.csv")
    assert results.groupby("mask").size().to_dict() == {"center": 4, "demo_stripes": 4}
    assert results["psnr"].notna().all() and results["demo_max_error"].between(0, 1).all()
    assert results.loc[results["mask"] == "demo_stripes", "hole_ratio"].between(0.4, 0.6).all()
    assert Path(out / "index.html").is_file()
