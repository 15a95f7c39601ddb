"""Nothing is written outside what a command owns: no write through a link in a run folder, no report
over files it did not write, no ``--name`` outside reports/."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import cli_in_process

from inpaintbench.errors import InpaintbenchError
from inpaintbench.files import layout, lock
from inpaintbench.runner.shared.errorlog import ErrorLog

RUN = ["run", "--model", "mean_fill", "--masks", "center", "--metrics", "psnr", "--limit", "3",
       "--image-size", "64", "--no-progress"]  # fmt: skip


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("finished") / "run"
    assert cli_in_process(*RUN, "--out", str(out)).returncode == 0
    return out


def _contents(path: Path) -> dict[str, bytes]:
    """Every file at or below ``path``, with its bytes."""
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return {str(p): p.read_bytes() for p in files}


def _one_line(result, *parts: str) -> str:
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and all(part in line for part in parts), line
    return line


def _link_to_victim(path: Path, victim: Path) -> None:
    """Move what the run wrote at ``path`` (or a user's file, where it wrote nothing) to ``victim`` and
    leave a link to it in its place."""
    if path.exists():
        shutil.move(path, victim)
    else:
        victim.write_text("the user's own file\n")
    path.symlink_to(victim)


@pytest.mark.parametrize(
    "name", [layout.LOCK, layout.ERRORS_LOG, layout.RESULTS_DB, layout.IMAGES_DIR, "images/target", "assets"]
)
def test_a_link_where_a_run_writes_is_one_line_before_anything_is_written(finished_run, tmp_path, name):
    out = tmp_path / "run"
    shutil.copytree(finished_run, out)
    victim = tmp_path / "victim"
    _link_to_victim(out / name, victim)
    before = _contents(victim)
    result = cli_in_process("run", "--resume", str(out), "--no-progress")
    _one_line(result, f"{out / name} is a symbolic link")
    assert _contents(victim) == before


def test_a_fresh_run_is_not_written_through_a_link_to_its_store(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / layout.RESULTS_DB).symlink_to(tmp_path / "elsewhere.sqlite")
    _one_line(cli_in_process(*RUN, "--out", str(out)), f"{out / layout.RESULTS_DB} is a symbolic link")
    assert not (tmp_path / "elsewhere.sqlite").exists() and sorted(os.listdir(out)) == [layout.RESULTS_DB]


def test_the_lock_and_the_error_log_are_never_opened_through_a_link(tmp_path):
    """A link made after the folder was checked is refused as well (``O_NOFOLLOW``)."""
    victim = tmp_path / "victim"
    victim.write_text("keep\n")
    (tmp_path / layout.LOCK).symlink_to(victim)
    (tmp_path / layout.ERRORS_LOG).symlink_to(victim)
    with pytest.raises(InpaintbenchError, match="run.lock is a symbolic link"), lock.exclusive(tmp_path):
        pass
    with pytest.raises(InpaintbenchError, match="errors.log is a symbolic link"):
        ErrorLog(tmp_path).record("model 'x' (inpaint)", RuntimeError("boom"))
    assert victim.read_text() == "keep\n"


# -- report -o -----------------------------------------------------------------------------------------
def _report(run: Path, out: str | Path, cwd: Path | None = None):
    return cli_in_process("report", str(run), "-o", str(out), cwd=cwd)


def test_report_o_a_folder_of_the_users_changes_nothing_in_it(finished_run, tmp_path):
    out = tmp_path / "mine"
    (out / "assets").mkdir(parents=True)
    (out / "index.html").write_text("my page")
    (out / "assets" / ("0" * 20 + ".png")).write_bytes(b"my picture")
    before = _contents(out)
    _one_line(_report(finished_run, out), f"-o {out} holds files no inpaintbench report wrote")
    assert _contents(out) == before


def test_report_o_another_runs_folder_keeps_its_report(finished_run, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(finished_run, other)
    before = _contents(other)
    _one_line(_report(finished_run, other), f"-o {other} is a run folder")
    assert _contents(other) == before


def test_report_o_empty_is_refused_not_the_current_folder(finished_run, tmp_path):
    result = _report(finished_run, "", cwd=tmp_path)
    _one_line(result, "-o/--out: an empty path")
    assert os.listdir(tmp_path) == []


def test_report_o_special_folder_is_one_line(finished_run):
    _one_line(_report(finished_run, "/proc/self"), "-o /proc/self holds files no inpaintbench report wrote")


def test_a_report_folder_is_rewritten_deleting_only_the_files_it_wrote(finished_run, tmp_path):
    out = tmp_path / "report"
    assert _report(finished_run, out).returncode == 0
    record = json.loads((out / layout.REPORT_RECORD).read_text())["files"]
    assert "index.html" in record and sorted(p.name for p in (out / "assets").iterdir()) == sorted(
        name.removeprefix("assets/") for name in record if name != "index.html"
    )
    stale = record[0] if record[0] != "index.html" else record[1]
    (out / stale).write_bytes(b"written by the first render")
    mine = out / "assets" / ("f" * 20 + ".png")  # a report's kind of name, but the user's file
    mine.write_bytes(b"user")
    (out / layout.REPORT_RECORD).write_text(json.dumps({"files": [*record, "../victim", "assets/../x"]}))
    (tmp_path / "victim").write_text("keep")
    result = cli_in_process("report", str(finished_run), "-o", str(out), "--self-contained")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (out / "assets").iterdir()) == [mine.name]
    assert (tmp_path / "victim").read_text() == "keep"
    assert json.loads((out / layout.REPORT_RECORD).read_text())["files"] == ["index.html"]


def test_a_report_folder_whose_assets_became_a_link_is_refused(finished_run, tmp_path):
    out = tmp_path / "report"
    assert _report(finished_run, out).returncode == 0
    target = tmp_path / "pictures"
    shutil.move(out / "assets", target)
    (out / "assets").symlink_to(target)
    before = _contents(target)
    _one_line(_report(finished_run, out), f"{out / 'assets'} is a symbolic link")
    assert _contents(target) == before


# -- --name ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["../../x", "ABSOLUTE", ".", "..", "", "a/b", "a\x1b[2J", "a\nb", "x" * 200])
def test_name_is_one_plain_folder_name(tmp_path, name):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    name = str(tmp_path / "abs") if name == "ABSOLUTE" else name
    _one_line(cli_in_process(*RUN, "--name", name, cwd=cwd), "--name", "is not a plain folder name")
    assert list(tmp_path.rglob("*")) == [cwd]
