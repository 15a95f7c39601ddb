"""``run --resume DIR`` finishes the stored run with its own settings: an option that would change one is
refused by name (exit status 2, nothing in DIR touched), never silently ignored; repeating a stored
value, or an option that changes no setting, is fine."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import cli_in_process

RUN = ["run", "--model", "mean_fill", "--masks", "center", "--metrics", "psnr", "--limit", "2",
       "--image-size", "64", "--no-progress", "--no-images", "--no-references"]  # fmt: skip


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("finished") / "run"
    assert cli_in_process(*RUN, "--out", str(out)).returncode == 0
    return out


@pytest.fixture
def run_dir(finished, tmp_path) -> Path:
    return Path(shutil.copytree(finished, tmp_path / "run"))


@pytest.mark.parametrize(
    ("extra", "flag"),
    [
        (["--image-size", "128"], "--image-size"),
        (["--image", "128"], "--image-size"),  # argparse's abbreviation
        (["--batch-size", "100000"], "--batch-size"),
        (["--seed=3"], "--seed"),
        (["--masks", "center,random"], "--masks"),
        (["--model", "predictions:/nonexistent"], "--model"),
        (["--option", "tta=2"], "--option"),
        (["--train-on-test", "--masks", "center"], "--train-on-test"),
        (["--out", "elsewhere"], "--out"),
        (["--name", "x"], "--name"),
    ],
)
def test_an_option_that_would_change_the_stored_run_is_refused(run_dir, extra, flag):
    _refused(run_dir, extra, flag)


def test_a_model_flag_on_resume_is_refused_too(run_dir):
    _refused(run_dir, ["--minutes", "-1"], "--minutes", plugins="context_encoder")  # its flag


def _refused(run_dir: Path, extra: list[str], flag: str, plugins: str | None = "toy") -> None:
    before = sorted(p.name for p in run_dir.iterdir())
    result = cli_in_process("run", "--resume", str(run_dir), *extra, plugins=plugins)
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: --resume {run_dir}") and flag in line, line
    assert sorted(p.name for p in run_dir.iterdir()) == before


@pytest.mark.parametrize(
    "extra", [[], ["--image-size", "64"], ["--model", "mean_fill", "--no-references"], ["--debug"]]
)
def test_options_that_repeat_the_stored_run_are_fine(run_dir, extra):
    result = cli_in_process("run", "--resume", str(run_dir), "--no-progress", *extra, "--out", str(run_dir))
    assert result.returncode == 0, result.stderr
    assert "0 results computed" in result.stdout
