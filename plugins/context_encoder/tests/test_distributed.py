"""``inpaintbench train`` under torchrun: two real gloo processes on the CPU (no mocks), against one.

The documented semantics (plugins/context_encoder/README.md, "Several GPUs or machines"):
``batch_size`` is global, each of N ranks trains on its contiguous B/N slice of the batch one process
would draw; gradients, batch norm statistics and the logged losses are averaged; the replicas stay
bit-identical; rank 0 alone writes; a checkpoint records the world size and is continued only by as
many processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from inpaintbench_context_encoder.checkpoint import find_checkpoint
from inpaintbench_context_encoder.config import TrainConfig
from inpaintbench_context_encoder.stream import open_training_images
from inpaintbench_context_encoder.trainer import train
from PIL import Image

from inpaintbench import InpaintbenchError, get_registry

pytestmark = pytest.mark.slow

WORKER = Path(__file__).with_name("ddp_worker.py")
#: The quick preset at a tiny size, its lr decay off: a run extended from 3 to 5 steps then follows the
#: schedule of one trained for 5 (with the decay, the first 3 steps would have decayed over 3).
OPTIONS = ["batch_size=4", "load_size=140", "bottleneck=8", "precision=fp32", "image_cache=0", "lr_decay=0"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """Eight 140 px PNG photos-to-be: smooth gradients plus noise, each its own."""
    root = tmp_path_factory.mktemp("train_images")
    rng = np.random.default_rng(3)
    rows, cols = np.mgrid[0:140, 0:140]
    for k in range(8):
        base = np.stack([rows * 1.5, cols * 1.5, np.full_like(rows, 30 * k)], axis=-1)
        pixels = np.clip(base + rng.integers(0, 60, base.shape), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(root / f"{k}.png")
    return root


def launch(folder: Path, out: Path, report: Path, steps: int, nproc: int | None, home: Path) -> list[dict]:
    """``inpaintbench train`` through the worker, under torchrun with ``nproc`` processes (None: alone);
    returns each rank's record."""
    args = ["--model", "context_encoder", "--dataset", f"folder:{folder}", "--mode", "center"]
    args += ["--out", str(out), "--steps", str(steps), "--device", "cpu", "--no-progress"]
    args += [part for option in OPTIONS for part in ("--option", option)]
    command = [sys.executable, str(WORKER), str(report), "--", *args]
    if nproc is not None:
        run = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}"]
        command = [*run, *command[1:]]
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK")}
    env |= {"INPAINTBENCH_HOME": str(home), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return [json.loads(p.read_text()) for p in sorted(report.glob("rank-*.json"))]


@pytest.fixture(scope="module")
def runs(folder, tmp_path_factory) -> dict[str, list[dict]]:
    """Three steps with two processes (then extended to five), three alone, and five with two from
    scratch; each record list in rank order."""
    base = tmp_path_factory.mktemp("runs")
    home = base / "home"
    found = {
        "two": launch(folder, base / "two", base / "r-two", 3, 2, home),
        "one": launch(folder, base / "one", base / "r-one", 3, None, home),
    }
    found["extended"] = launch(folder, base / "two", base / "r-extended", 5, 2, home)
    found["fresh"] = launch(folder, base / "fresh", base / "r-fresh", 5, 2, home)
    found["dirs"] = [{"two": base / "two", "fresh": base / "fresh", "one": base / "one"}]
    return found


def test_each_rank_trains_its_half_of_the_global_batch(runs) -> None:
    """Global batch 4: rank 0 gets samples 0-1 of every step's batch, rank 1 samples 2-3, exactly the
    crops the single process draws for that step."""
    rank0, rank1 = runs["two"]
    (alone,) = runs["one"]
    assert [r["rank"] for r in runs["two"]] == [0, 1]
    assert len(rank0["steps"]) == len(rank1["steps"]) == len(alone["steps"]) == 3
    for a, b, whole in zip(rank0["steps"], rank1["steps"], alone["steps"], strict=True):
        assert len(a["samples"]) == len(b["samples"]) == 2
        assert a["samples"] + b["samples"] == whole["samples"]


def test_the_replicas_are_identical_after_every_step(runs) -> None:
    """Weights and batch norm buffers, bit for bit, on both ranks after each step; and not the single
    process's (batch norm sees two samples per rank: the documented difference)."""
    rank0, rank1 = runs["two"]
    assert [s["weights"] for s in rank0["steps"]] == [s["weights"] for s in rank1["steps"]]
    assert rank0["steps"][-1]["weights"] != runs["one"][0]["steps"][-1]["weights"]


def test_rank_0_alone_writes_and_both_return_its_checkpoint(runs) -> None:
    rank0, rank1 = runs["two"]
    assert rank0["saves"] == [3] and rank1["saves"] == []
    assert rank0["checkpoint"] == rank1["checkpoint"] and rank0["checkpoint"]["step"] == 3
    directory = runs["dirs"][0]["two"]
    ckpt = find_checkpoint(directory)
    assert ckpt.meta["world_size"] == 2 and ckpt.meta["batch_per_rank"] == 2
    assert ckpt.meta["config"]["batch_size"] == 4
    assert find_checkpoint(runs["dirs"][0]["one"]).meta["world_size"] == 1
    rows = (directory / "losses.csv").read_text().splitlines()
    assert rows[0].startswith("step,") and [r.split(",")[0] for r in rows[1:]] == ["3", "5"]
    assert len(list(directory.glob(".*tmp*"))) == 0


def test_an_extended_run_continues_and_ends_where_a_fresh_one_does(runs) -> None:
    """Steps 3 then 5 (resumed by two processes) give the weights of 5 in one go: the stream, Adam
    moments and replicas all continue."""
    rank0, rank1 = runs["extended"]
    assert len(rank0["steps"]) == len(rank1["steps"]) == 2
    assert rank0["saves"] == [5] and rank1["saves"] == []
    fresh = runs["fresh"][0]
    assert rank0["steps"][-1]["weights"] == fresh["steps"][-1]["weights"]
    assert rank0["checkpoint"] == fresh["checkpoint"] and rank0["checkpoint"]["step"] == 5
    assert [s["samples"] for s in rank0["steps"]] == [s["samples"] for s in fresh["steps"][3:]]


def test_one_process_does_not_continue_a_two_process_checkpoint(runs, folder, tmp_path) -> None:
    """The bits depend on the world size (batch norm per rank), so the folder stays the 2-process run's."""
    directory = runs["dirs"][0]["fresh"]
    data = open_training_images(get_registry().get("dataset", f"folder:{folder}"), 140, tmp_path, "0")
    meta = find_checkpoint(directory).meta
    cfg = TrainConfig.from_json(meta["config"] | {"steps": 6})
    with pytest.raises(InpaintbenchError, match="2 processes"):
        train(cfg, data, directory, torch.device("cpu"), progress=False)
