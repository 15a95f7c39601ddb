"""torchrun with two CPU processes (gloo), for real: the folder ends up as one process writes it, and a
killed rank's work resumes like a killed run's.

Real processes throughout: ``python -m torch.distributed.run`` (torchrun) starts the ranks, which talk over
gloo on this machine; nothing in torch.distributed is mocked.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import cli_env, cli_in_process
from PIL import Image

from inpaintbench.files import layout

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun(nproc: int, *args: str) -> list[str]:
    return [
        sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(nproc),
        "--master-addr", "127.0.0.1", "--master-port", str(_free_port()), "-m", "inpaintbench", *args,
    ]  # fmt: skip


def run_torchrun(nproc: int, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(torchrun(nproc, *args), capture_output=True, text=True, env=cli_env(), timeout=600)


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    """Nine images and one file that does not decode: PNGs at the run's size (copied as ground truth),
    larger JPEGs (resized), in subfolders."""
    root = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    for i in range(9):
        folder = root / f"part{i % 2}"
        folder.mkdir(exist_ok=True)
        if i % 3:
            Image.fromarray(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)).save(folder / f"{i}.png")
        else:
            Image.fromarray(rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)).save(folder / f"{i}.jpg")
    (root / "part0" / "broken.png").write_bytes(b"not an image")
    return root


def _files(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("limit", [None, "7"])
def test_two_processes_write_the_folder_one_process_writes(tmp_path, photos, limit):
    args = [
        "run",
        "--model",
        "mean_fill,biharmonic",
        "--masks",
        "center,random",
        "--metrics",
        "psnr,ssim,l1_hole",
    ]
    args += ["--dataset", f"folder:{photos}", "--image-size", "48", "--batch-size", "2", "--no-progress"]
    args += ["--limit", limit] if limit else []
    one, two = tmp_path / "one", tmp_path / "two"
    single = cli_in_process(*args, "--out", str(one))
    assert single.returncode == 0, single.stderr
    result = run_torchrun(2, *args, "--out", str(two))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    for name in (layout.RESULTS_CSV, layout.SUMMARY_CSV):
        assert (two / name).read_bytes() == (one / name).read_bytes(), name
    assert _files(two / layout.IMAGES_DIR) == _files(one / layout.IMAGES_DIR)
    a, b = (json.loads((d / layout.RUN_JSON).read_text()) for d in (one, two))
    for key in ("dataset", "models", "skipped_inputs", "failures", "set_metrics"):
        assert a[key] == b[key], key
    assert b["processes"] == 2 and b["sessions"][-1]["computed"] == a["sessions"][-1]["computed"]
    assert len(pd.read_csv(two / layout.RESULTS_CSV)) == 2 * 2 * (int(limit) if limit else 9)
    assert not (two / "shards").exists()  # merged into results.sqlite and removed
    assert result.stdout.count("results computed") == 1  # rank 0 alone prints the outcome


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def test_a_killed_rank_resumes_like_a_killed_run(tmp_path):
    args = ["run", "--model", "toy_slow", "--masks", "toy_corner,center", "--metrics", "psnr,toy_mae"]
    args += ["--limit", "12", "--batch-size", "1", "--no-progress", "--no-references"]
    out = tmp_path / "killed"
    proc = subprocess.Popen(
        torchrun(2, *args, "--out", str(out)),
        env=cli_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 300
    preds = out / layout.IMAGES_DIR / "pred"
    while (not preds.is_dir() or sum(1 for _ in preds.rglob("*.png")) < 8) and time.monotonic() < deadline:
        time.sleep(0.05)
    ranks = _children(proc.pid)
    assert len(ranks) == 2, ranks
    os.kill(ranks[1], signal.SIGKILL)  # torchrun then stops the other rank and fails
    proc.communicate(timeout=120)
    assert proc.returncode != 0
    assert list((out / "shards").glob("rank-*.sqlite")), "each rank keeps what it committed"

    resumed = cli_in_process(
        "run", "--resume", str(out), "--no-progress"
    )  # one process reads every rank's store
    assert resumed.returncode == 0, resumed.stderr
    sessions = json.loads((out / layout.RUN_JSON).read_text())["sessions"]
    kept = sessions[0]["computed"]
    assert 0 < kept < 24 and [s["computed"] for s in sessions] == [kept, 24 - kept]
    assert not (out / "shards").exists()

    clean = tmp_path / "clean"
    assert cli_in_process(*args, "--out", str(clean)).returncode == 0
    assert (out / layout.RESULTS_CSV).read_bytes() == (clean / layout.RESULTS_CSV).read_bytes()
    assert (out / layout.SUMMARY_CSV).read_bytes() == (clean / layout.SUMMARY_CSV).read_bytes()


def test_every_rank_stops_on_an_input_error_before_any_file(tmp_path):
    out = tmp_path / "never"
    result = subprocess.run(
        torchrun(
            2, "run", "--model", "mean_fill", "--masks", "cheat_soft", "--out", str(out), "--no-progress"
        ),
        capture_output=True,
        text=True,
        env=cli_env("cheat"),
        timeout=600,
    )
    assert result.returncode != 0  # torchrun's own report of the failed ranks follows
    ours = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert ours and all("mask regime 'cheat_soft' drew a float64 mask" in line for line in ours)
    assert "inpaintbench/runner" not in result.stderr  # no rank printed a traceback
    assert not out.exists()
