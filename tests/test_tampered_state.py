"""Files a run folder holds, edited, truncated or replaced by hand: every command that reads them back
gives one line naming the file and what to do (exit status 2) before anything in the folder changes, and
``--resume`` trusts the store's rows, not what an earlier run counted."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from conftest import cli_in_process

RUN = ["run", "--model", "mean_fill", "--masks", "center", "--metrics", "psnr,ssim", "--limit", "6",
       "--image-size", "64", "--no-progress", "--no-images", "--no-references"]  # fmt: skip
DERIVED = ("results.csv", "summary.csv", "index.html")


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("finished") / "run"
    assert cli_in_process(*RUN, "--out", str(out)).returncode == 0
    return out


@pytest.fixture
def run_dir(finished, tmp_path) -> Path:
    """A copy of a finished run of 6 images to tamper with."""
    return Path(shutil.copytree(finished, tmp_path / "run"))


def _one_line(result, *names: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and "unexpected" not in line, line
    for name in names:
        assert name in line, line
    return line


def _commands(run_dir: Path) -> dict[str, list[str]]:
    return {
        "resume": ["run", "--resume", str(run_dir), "--no-progress"],
        "again": [*RUN, "--out", str(run_dir)],
        "report": ["report", str(run_dir), "-o", str(run_dir.parent / "report")],
    }


@pytest.mark.parametrize(
    "content",
    ["[]", '{"models": []}', "[" * 200_000 + "]" * 200_000, '{"config": {"image_size": "64"}}', '"x"'],
    ids=["list", "models-list", "nested", "wrong-type", "string"],
)
@pytest.mark.parametrize("command", ["resume", "again", "report"])
def test_a_run_json_out_of_shape_is_one_line_before_anything_is_deleted(run_dir, content, command):
    (run_dir / "run.json").write_text(content)
    _one_line(cli_in_process(*_commands(run_dir)[command]), "run.json", "move it away")
    assert all((run_dir / name).is_file() for name in DERIVED)


@pytest.mark.parametrize(
    "key, value",
    [
        ("identity", "{not json"),
        ("identity", "[1]"),
        ("identity", '{"image_size": "64"}'),
        ("listing_end", '"x"'),
    ],  # fmt: skip
)
@pytest.mark.parametrize("command", ["resume", "again"])
def test_store_meta_out_of_shape_is_one_line_naming_the_store(run_dir, key, value, command):
    with sqlite3.connect(run_dir / "results.sqlite") as db:
        db.execute("UPDATE meta SET value = ? WHERE key = ?", (value, key))
    _one_line(cli_in_process(*_commands(run_dir)[command]), "results.sqlite", key)
    assert all((run_dir / name).is_file() for name in DERIVED)


def _tamper(path: Path, how: str) -> None:
    text = path.read_text()
    lines = text.splitlines(keepends=True)
    path.write_bytes(
        {
            "empty": b"",
            "binary": bytes(range(256)) * 4,
            "nul": text.replace(",", "\0", 1).encode(),
            "ragged-long": (text + ",".join(["a"] * 40) + "\n").encode(),  # more fields than any header
            "ragged-short": (text + "a\n").encode(),
            "duplicated-row": (text + lines[-1]).encode(),
            "duplicated-column": (
                lines[0].replace("model,", "model,model,", 1) + "".join(lines[1:])
            ).encode(),
        }[how]
    )


@pytest.mark.parametrize("name", ["results.csv", "summary.csv"])
@pytest.mark.parametrize(
    "how", ["empty", "binary", "nul", "ragged-long", "ragged-short", "duplicated-row", "duplicated-column"]
)
def test_report_refuses_a_damaged_table_by_name(run_dir, name, how):
    _tamper(run_dir / name, how)
    _one_line(cli_in_process(*_commands(run_dir)["report"]), name, "--resume")


def test_resume_recomputes_the_results_whose_rows_or_scores_were_deleted(run_dir):
    with sqlite3.connect(run_dir / "results.sqlite") as db:
        db.execute("DELETE FROM scores WHERE rowid % 3 = 0")  # a third of the scores
        db.execute("DELETE FROM samples WHERE image = (SELECT MIN(image) FROM samples)")
    result = cli_in_process("run", "--resume", str(run_dir), "--no-progress")
    assert result.returncode == 0, result.stderr
    assert "0 results computed" not in result.stdout
    results = pd.read_csv(run_dir / "results.csv")
    assert len(results) == 6 and results[["psnr", "ssim"]].notna().all().all()
    summary = pd.read_csv(run_dir / "summary.csv")
    assert (summary["n"] == 6).all()
    again = cli_in_process("run", "--resume", str(run_dir), "--no-progress")
    assert "0 results computed" in again.stdout


@pytest.mark.parametrize("left", [["results.sqlite", "run.lock"], ["run.lock"]])
def test_resume_of_a_run_killed_before_its_run_json_says_to_run_its_command_again(run_dir, left):
    for path in run_dir.iterdir():
        if path.name not in left:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    line = _one_line(cli_in_process("run", "--resume", str(run_dir)), "run.json", "run the command")
    assert "is this a run folder" not in line
    assert cli_in_process(*RUN, "--out", str(run_dir)).returncode == 0
    assert len(pd.read_csv(run_dir / "results.csv")) == 6
