"""A full disk, for real: a small tmpfs mounted for the test, filled to a few bytes, and the real CLI.

Whatever write hits ENOSPC (an image, the SQLite store, run.json, a CSV, the report), the outcome is the
same: one line naming the file, exit status 1, no temporary file left, every finished row kept, no
results.csv or index.html that lacks them, and ``--resume`` after freeing space gives the results a run
on a roomy disk gives.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from conftest import cli_in_process

from inpaintbench.files import layout

pytestmark = pytest.mark.slow

FIRST = ["run", "--model", "mean_fill", "--masks", "center,random", "--metrics", "psnr", "--limit", "5"]
MORE = ["run", "--model", "mean_fill,biharmonic", "--masks", "center,random", "--metrics", "psnr"]
MORE += ["--limit", "5", "--no-progress"]


@pytest.fixture
def small_disk(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"a real ENOSPC needs a small tmpfs, and mounting one failed: {mounted.stderr.strip()}")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=True)


def _fill(disk: Path, leave: int) -> Path:
    """A file taking all of ``disk``'s space but ``leave`` bytes."""
    stat = os.statvfs(disk)
    filler = disk / "filler"
    with filler.open("wb") as f:
        os.posix_fallocate(f.fileno(), 0, max(stat.f_bavail * stat.f_frsize - leave, 4096))
    return filler


def _rows(db: Path) -> int:
    with sqlite3.connect(db) as store:
        return store.execute("SELECT COUNT(*) FROM samples").fetchone()[0]


def _no_space_line(result: subprocess.CompletedProcess, out: Path) -> tuple[Path, bool]:
    """The file the one line names, and whether it says to resume (the run had begun) or to run the
    command again (the folder was full before this run recorded anything)."""
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    resume = f"finished results are kept; free some space, then: inpaintbench run --resume {out}"
    found = re.fullmatch(
        rf"error: no space left on the device to write (\S+): "
        rf"({re.escape(resume)}|free some space and run the command again)",
        line,
    )
    assert found, line
    return Path(found.group(1)), found.group(2) == resume


def _no_tmp_files(folder: Path) -> None:
    assert not [p for p in folder.rglob("*") if p.name.endswith(".tmp")]


@pytest.mark.parametrize(("images", "leave"), [(True, 0), (True, 64 * 1024), (False, 0), (False, 12 * 1024)])
def test_a_full_disk_is_one_line_keeps_what_finished_and_resumes(small_disk, tmp_path, images, leave):
    out = small_disk / "run"
    no_images = [] if images else ["--no-images"]
    assert cli_in_process(*FIRST, *no_images, "--out", str(out), "--no-progress").returncode == 0
    kept = _rows(out / layout.RESULTS_DB)
    filler = _fill(small_disk, leave)

    result = cli_in_process(*MORE, *no_images, "--out", str(out))
    failed_on, resume = _no_space_line(result, out)
    assert out in failed_on.parents
    _no_tmp_files(out)
    stored = _rows(out / layout.RESULTS_DB)
    assert stored >= kept  # nothing finished is lost
    if any((out / name).exists() for name in layout.DERIVED):  # then they describe every stored row
        assert len(pd.read_csv(out / layout.RESULTS_CSV)) == stored

    filler.unlink()
    again = (
        ["run", "--resume", str(out), "--no-progress"] if resume else [*MORE, *no_images, "--out", str(out)]
    )
    finished = cli_in_process(*again)
    assert finished.returncode == 0, finished.stderr
    _no_tmp_files(out)
    clean = tmp_path / "clean"
    assert cli_in_process(*MORE, *no_images, "--out", str(clean)).returncode == 0
    pd.testing.assert_frame_equal(pd.read_csv(out / "results.csv"), pd.read_csv(clean / "results.csv"))
    assert (out / layout.INDEX_HTML).is_file()


def test_a_report_that_cannot_be_written_leaves_no_stale_page(small_disk, tmp_path):
    run = tmp_path / "run"
    assert cli_in_process(*FIRST, "--out", str(run), "--no-progress").returncode == 0
    report = small_disk / "report"
    assert cli_in_process("report", str(run), "-o", str(report)).returncode == 0
    _fill(small_disk, 0)
    result = cli_in_process("report", str(run), "-o", str(report), "--self-contained")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert re.fullmatch(
        rf"error: no space left on the device to write {re.escape(str(report))}/\S+: free some space and "
        "run the command again",
        line,
    ), line
    assert not (report / layout.INDEX_HTML).exists()
    _no_tmp_files(report)
