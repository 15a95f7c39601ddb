"""One run folder, many hands: concurrent writers, a corrupt store, options checked before any file.

Real processes throughout. The artificial delay between reading and writing a folder's identity is
patched into the child process (``SLOW_IDENTITY``), so no test hook lives in the production code.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import cli_env, cli_in_process
from PIL import Image

from inpaintbench.files import layout, lock

BASE = [
    "run",
    "--model",
    "toy_slow",
    "--masks",
    "center",
    "--metrics",
    "psnr",
    "--limit",
    "4",
    "--no-progress",
    "--no-references",
]
#: Run in a child before anything else: every read of the store's identity then takes ``DELAY`` seconds
#: before its write can follow, the window in which two unguarded writers would both claim the folder.
SLOW_IDENTITY = """
import sys, time
from inpaintbench.runner.store import results as store
read = store.ResultStore.get_meta
def slow(self, key):
    value = read(self, key)
    time.sleep({delay})
    return value
store.ResultStore.get_meta = slow
"""
#: Run in a child: every read of the store's identity waits until the file ``release`` exists, so the
#: child holds the folder for exactly as long as the test needs (not a fixed sleep that must outlast
#: the slowest start of a second process).
HELD_IDENTITY = """
import pathlib, sys, time
from inpaintbench.runner.store import results as store
read = store.ResultStore.get_meta
release, deadline = pathlib.Path({release!r}), time.monotonic() + 300
def held(self, key):
    value = read(self, key)
    while not release.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return value
store.ResultStore.get_meta = held
"""
CLI = "from inpaintbench.cli import main; sys.exit(main(sys.argv[1:]))"


def _start(argv: list[str], delay: float = 0.0, release: Path | None = None) -> subprocess.Popen:
    if release is not None:
        code = HELD_IDENTITY.format(release=str(release)) + CLI
    else:
        code = (SLOW_IDENTITY.format(delay=delay) if delay else "import sys\n") + CLI
    return subprocess.Popen(
        [sys.executable, "-c", code, *argv],
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen) -> subprocess.CompletedProcess:
    out, err = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _no_tmp_files(folder: Path) -> None:
    assert not [p for p in folder.rglob("*") if p.name.endswith(".tmp")]


def _refused_as_busy(result: subprocess.CompletedProcess, out: Path) -> None:
    assert result.returncode == 2 and "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert re.fullmatch(
        rf"error: {re.escape(str(out))} is being written by another inpaintbench run \(pid \d+\): "
        "wait for it to finish, or use another --out",
        line,
    ), line


@pytest.mark.slow
def test_a_second_writer_is_refused_naming_the_first_ones_pid(tmp_path):
    out = tmp_path / "run"
    release = tmp_path / "release"
    first = _start([*BASE, "--out", str(out)], release=release)  # holds the folder until released
    deadline = time.monotonic() + 120
    while lock.writer(out) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert lock.writer(out) == f"pid {first.pid}"
    second = cli_in_process(*BASE, "--out", str(out))
    _refused_as_busy(second, out)
    assert f"(pid {first.pid})" in second.stderr
    release.touch()
    assert _finish(first).returncode == 0
    assert len(pd.read_csv(out / layout.RESULTS_CSV)) == 4 and lock.writer(out) is None


@pytest.mark.slow
def test_two_identical_runs_started_together_give_one_correct_folder(tmp_path):
    out = tmp_path / "run"
    results = [_finish(p) for p in [_start([*BASE, "--out", str(out)]) for _ in range(2)]]
    assert sorted(r.returncode for r in results) in ([0, 0], [0, 2]), [r.stderr for r in results]
    for result in results:
        assert "Traceback" not in result.stderr
        if result.returncode == 2:
            _refused_as_busy(result, out)
    _no_tmp_files(out)
    clean = tmp_path / "clean"
    assert cli_in_process(*BASE, "--out", str(clean)).returncode == 0
    pd.testing.assert_frame_equal(pd.read_csv(out / "results.csv"), pd.read_csv(clean / "results.csv"))
    sessions = json.loads((out / layout.RUN_JSON).read_text())["sessions"]
    assert len(sessions) == [r.returncode for r in results].count(0)


@pytest.mark.slow
def test_seed_0_and_seed_1_into_one_folder_are_never_both_accepted(tmp_path):
    out = tmp_path / "run"
    procs = {seed: _start([*BASE, "--seed", str(seed), "--out", str(out)], delay=2) for seed in (0, 1)}
    results = {seed: _finish(proc) for seed, proc in procs.items()}
    [winner] = [seed for seed, r in results.items() if r.returncode == 0]
    loser = results[1 - winner]
    assert loser.returncode == 2 and "Traceback" not in loser.stderr
    assert len(loser.stderr.strip().splitlines()) == 1
    with sqlite3.connect(out / layout.RESULTS_DB) as db:
        identity = json.loads(db.execute("SELECT value FROM meta WHERE key = 'identity'").fetchone()[0])
        assert identity["seed"] == winner and db.execute("SELECT COUNT(*) FROM sessions").fetchone() == (1,)
    assert json.loads((out / layout.RUN_JSON).read_text())["config"]["seed"] == winner


@pytest.mark.slow
def test_the_identity_check_and_its_write_are_one_transaction(tmp_path):
    """Without the folder lock: two processes claim one store with different seeds, each pausing between
    reading the identity and writing it; exactly one wins and the other sees the winner's identity."""
    claim = (
        SLOW_IDENTITY.format(delay=1.5)
        + "import json\nfrom pathlib import Path\n"
        + "s = store.ResultStore(Path(sys.argv[1]), [])\n"
        + "print(json.dumps(s.open_session({'seed': int(sys.argv[2])})))\n"
    )
    db = tmp_path / "results.sqlite"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", claim, str(db), str(seed)],
            stdout=subprocess.PIPE,
            text=True,
            env=cli_env(),
        )
        for seed in (0, 1)
    ]
    answers = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    [won] = [seed for seed, answer in enumerate(answers) if answer is None]
    assert answers[1 - won] == {"seed": won}


# -- a corrupt or foreign results.sqlite ---------------------------------------------------------------
RUN = [
    "run",
    "--model",
    "mean_fill",
    "--masks",
    "center",
    "--metrics",
    "psnr",
    "--limit",
    "3",
    "--no-progress",
]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("finished") / "run"
    assert cli_in_process(*RUN, "--out", str(out)).returncode == 0
    assert not (out / "results.sqlite-wal").exists()  # checkpointed: the main file holds everything
    return out


def _truncate(db: Path) -> None:
    os.truncate(db, db.stat().st_size // 2)


def _overwrite(db: Path) -> None:
    with db.open("r+b") as f:
        f.seek(db.stat().st_size // 2 // 4096 * 4096)  # a whole page from its start: its b-tree header
        f.write(b"\xff" * 4096)


def _not_sqlite(db: Path) -> None:
    db.write_text("these are not the results you are looking for\n" * 100)


def _foreign(db: Path) -> None:
    db.unlink()
    with sqlite3.connect(db) as other:
        other.execute("CREATE TABLE photos (name TEXT)")


@pytest.mark.parametrize(
    ("corrupt", "expected"),
    [
        (_truncate, "cannot be read (database disk image is malformed): move it away to start over"),
        (_overwrite, "is damaged (SQLite says: "),
        (_not_sqlite, "cannot be read (file is not a database): move it away to start over"),
        (_foreign, "is an SQLite database but not an inpaintbench results store (no table 'meta')"),
    ],
)
@pytest.mark.parametrize("how", ["resume", "rerun"])
def test_a_corrupt_store_is_one_line_and_changes_nothing(finished_run, tmp_path, corrupt, expected, how):
    out = tmp_path / "run"
    shutil.copytree(finished_run, out)
    db = out / layout.RESULTS_DB
    corrupt(db)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and p.name != layout.LOCK}
    argv = ["run", "--resume", str(out)] if how == "resume" else [*RUN, "--out", str(out)]
    result = cli_in_process(*argv)
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {db} ") and expected in line, line
    after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and p.name != layout.LOCK}
    assert after == before  # run.json, the CSVs, the report and the store itself untouched


# -- every option checked before any file is created ---------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--limit", "0"], "error: --limit 0 must be at least 1"),
        (["--limit", "-1"], "error: --limit -1 must be at least 1"),
        (["--batch-size", "0"], "error: --batch-size 0 must be at least 1"),
        (["--image-size", "100000"], "error: --image-size 100000 is too large (4096 at most)"),
        (["--image-size", "4"], "error: --image-size 4 is too small (8 at least)"),
        (
            ["--masks", "folder:/nonexistent"],
            "error: mask folder '/nonexistent' does not exist or is not a folder",
        ),
        (["--train-dataset", "nope"], "error: unknown dataset 'nope'"),
        (["--device", "cpu:x"], "error: --device 'cpu:x': RuntimeError: Invalid device string: 'cpu:x'"),
        (["--limit", "x"], "error: inpaintbench run: argument --limit: invalid int value: 'x'"),
    ],
)
def test_a_bad_option_is_one_line_before_any_file(tmp_path, argv, expected):
    out = tmp_path / "new" / "run"
    result = cli_in_process(
        "run", "--model", "mean_fill", "--masks", "center", *argv, "--out", str(out), cwd=tmp_path
    )
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(expected), line
    assert not (tmp_path / "new").exists() and not (tmp_path / "reports").exists()


def test_a_frozen_set_runs_without_the_mask_folder_it_was_made_from(tmp_path):
    masks = tmp_path / "masks"
    masks.mkdir()
    for i in range(3):
        image = Image.new("L", (64, 64), 0)
        image.paste(255, (8 * i, 8, 8 * i + 24, 40))
        image.save(masks / f"m{i}.png")
    spec = f"folder:{masks}"
    frozen = tmp_path / "frozen"
    freeze = ["freeze", "--dataset", "samples", "--masks", spec, "--image-size", "32", "--limit", "2"]
    made = cli_in_process(*freeze, "--out", str(frozen))
    assert made.returncode == 0, made.stderr
    shutil.rmtree(masks)
    out = tmp_path / "run"
    result = cli_in_process(
        *["run", "--model", "mean_fill", "--masks", spec, "--dataset", f"evalset:{frozen}"],
        *["--image-size", "32", "--metrics", "psnr", "--out", str(out), "--no-progress"],
    )
    assert result.returncode == 0, result.stderr
    assert len(pd.read_csv(out / layout.RESULTS_CSV)) == 2


def test_run_out_and_report_o_naming_a_file_are_one_line(tmp_path, finished_run):
    file = tmp_path / "a-file"
    file.write_text("mine\n")
    run = cli_in_process(*RUN, "--out", str(file))
    assert run.returncode == 2
    assert run.stderr.strip() == f"error: {file} is a file, not a folder: give --out a folder"
    report = cli_in_process("report", str(finished_run), "-o", str(file))
    assert report.returncode == 2
    assert report.stderr.strip() == (
        f"error: {file} is a file, not a folder: the report is written to FOLDER/index.html"
    )
    assert file.read_text() == "mine\n"


def test_report_on_an_interrupted_run_says_how_to_finish_it(tmp_path, finished_run):
    out = tmp_path / "run"
    shutil.copytree(finished_run, out)
    (out / layout.RESULTS_CSV).unlink()  # as a run stopped before it finished leaves its folder
    result = cli_in_process("report", str(out), "-o", str(tmp_path / "report"))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: {out}: the run stopped before it finished (no results.csv yet); "
        f"finish it with: inpaintbench run --resume {out}"
    )
    assert cli_in_process("run", "--resume", str(out), "--no-progress").returncode == 0
    assert cli_in_process("report", str(out), "-o", str(tmp_path / "report")).returncode == 0
