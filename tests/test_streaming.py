"""The streaming run: names checked before torch is imported, a changed dataset refused on resume before a
row from it is committed, ground truth copied when the dataset's file is a lossless PNG of it, and peak
memory flat in the number of images, and metric values that do not depend on the overlap's timing."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import cli_env, cli_in_process
from PIL import Image

from inpaintbench import Metric, Model
from inpaintbench.datasets.entries import entries
from inpaintbench.files import layout
from inpaintbench.images import to_uint8
from inpaintbench.plugins import build_registry
from inpaintbench.runner.run import RunConfig, Runner
from inpaintbench.runner.store.results import STORE_VERSION

NO_TORCH = (
    "import sys\n"
    "from inpaintbench.cli import main\n"
    "rc = main(sys.argv[1:])\n"
    "print('torch imported' if 'torch' in sys.modules else 'torch not imported')\n"
    "sys.exit(rc)\n"
)


@pytest.mark.parametrize(
    ("flag", "spec", "kind"),
    [("--model", "mean_fil", "model"), ("--masks", "centre", "mask"), ("--metrics", "psnrr", "metric"),
     ("--dataset", "sample", "dataset")],
)  # fmt: skip
def test_a_misspelt_name_fails_before_torch_is_imported(tmp_path, flag, spec, kind):
    args = {"--model": "mean_fill", "--masks": "center", "--metrics": "psnr", "--dataset": "samples"}
    args[flag] = spec
    argv = ["run", *[x for kv in args.items() for x in kv], "--out", str(tmp_path / "run")]
    command = [sys.executable, "-c", NO_TORCH, *argv]
    result = subprocess.run(command, capture_output=True, text=True, env=cli_env())
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: unknown {kind} '{spec}' (known: ")
    assert result.stdout.strip() == "torch not imported"
    assert not (tmp_path / "run").exists()


def _image(path: Path, seed: int, size: tuple[int, int] = (40, 40)) -> None:
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (*size[::-1], 3), dtype=np.uint8)).save(path)


@pytest.fixture
def folder(tmp_path) -> Path:
    """Four PNGs at the run's size (32 px), one larger JPEG, one file that does not decode."""
    root = tmp_path / "data"
    root.mkdir()
    for i in range(4):
        _image(root / f"{i}.png", i, (32, 32))
    _image(root / "4.jpg", 4, (48, 40))
    (root / "5.png").write_bytes(b"broken")
    return root


def _run(folder: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return cli_in_process(
        "run", "--model", "mean_fill", "--masks", "center", "--metrics", "psnr",
        "--dataset", f"folder:{folder}", "--image-size", "32", "--batch-size", "2", "--no-progress",
        "--out", str(out), *extra,
    )  # fmt: skip


def _snapshot(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and p.name != layout.LOCK}


def test_the_ground_truth_is_copied_from_a_lossless_png_and_encoded_otherwise(folder, tmp_path):
    out = tmp_path / "run"
    assert _run(folder, out).returncode == 0
    for i in range(4):
        assert layout.target_png(out, f"{i}.png").read_bytes() == (folder / f"{i}.png").read_bytes()
    encoded = np.asarray(Image.open(layout.target_png(out, "4.jpg")))
    assert encoded.shape == (32, 32, 3)
    scored = next(e for e in entries(build_registry().get("dataset", f"folder:{folder}"), "test", 32)
                  if e.image_id == "4.jpg").read().image  # fmt: skip
    np.testing.assert_array_equal(encoded, to_uint8(scored))  # lossless, in RGB order
    assert _row_filters(layout.target_png(out, "4.jpg")) == {1}  # Sub on every row (``inpaintbench.images``)
    run = json.loads((out / layout.RUN_JSON).read_text())
    assert [s["path"] for s in run["skipped_inputs"]] == [str(folder / "5.png")]
    assert run["dataset"]["n_images"] == 5 and len(run["dataset"]["fingerprint"]) == 64


def _row_filters(path: Path) -> set[int]:
    """The PNG filter types of a file's rows (8-bit RGB, not interlaced)."""
    data, chunks, width = path.read_bytes(), [], 0
    at = 8
    while at < len(data):
        length, kind = int.from_bytes(data[at : at + 4], "big"), data[at + 4 : at + 8]
        body = data[at + 8 : at + 8 + length]
        if kind == b"IHDR":
            width = int.from_bytes(body[:4], "big")
        elif kind == b"IDAT":
            chunks.append(body)
        at += 12 + length
    rows = zlib.decompress(b"".join(chunks))
    return {rows[k] for k in range(0, len(rows), 1 + 3 * width)}


@pytest.mark.parametrize(
    ("change", "expected", "first_batch"),
    [
        (lambda d: _image(d / "2.png", 99, (32, 32)), "the pixels of image '2.png' changed", False),
        (lambda d: _image(d / "9.png", 9, (32, 32)), "the dataset now has more than its 6 inputs", False),
        (lambda d: (d / "1.png").rename(d / "1b.png"), "input 2 is '1b.png', not '1.png'", True),
        (lambda d: (d / "5.png").unlink(), "the dataset now has 5 inputs, not 6", False),
        (lambda d: (d / "0.png").write_bytes(b"broken now"), "image '0.png' cannot be read now", True),
    ],
)
def test_resuming_on_other_data_is_refused_before_its_rows(folder, tmp_path, change, expected, first_batch):
    """Refused before a row is committed for the changed input; in the first batch, before the folder is
    touched at all."""
    out = tmp_path / "run"
    assert _run(folder, out).returncode == 0
    rows = pd.read_csv(out / layout.RESULTS_CSV)
    change(folder)
    result = cli_in_process("run", "--resume", str(out), "--no-progress")
    assert result.returncode == 2, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    advice = "use another --out, or the same dataset to resume"
    assert line == f"error: {out} holds a run on other data: {expected}; {advice}"
    with sqlite3.connect(out / layout.RESULTS_DB) as db:
        assert db.execute("SELECT COUNT(*) FROM samples").fetchone() == (len(rows),)
    if first_batch:
        pd.testing.assert_frame_equal(pd.read_csv(out / layout.RESULTS_CSV), rows)


def _dump(db_path: Path) -> list[str]:
    """The store's contents and version as SQL, whatever its pages look like."""
    with sqlite3.connect(db_path) as db:
        return [*db.iterdump(), str(db.execute("PRAGMA user_version").fetchone())]


def test_a_store_of_another_version_is_refused_before_anything_changes(folder, tmp_path):
    """The store's version is SQLite's user_version: a newer store, and a development store from before
    the per-image listing (a whole-dataset fingerprint in its identity, nothing listed), are one line
    and exit 2, the folder untouched; an unversioned store of the current layout resumes and is marked."""
    out = tmp_path / "run"
    assert _run(folder, out, "--limit", "3").returncode == 0
    db_path = out / layout.RESULTS_DB
    with sqlite3.connect(db_path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (STORE_VERSION,)
        db.execute("PRAGMA user_version = 0")
    resumed = cli_in_process("run", "--resume", str(out), "--no-progress")
    assert resumed.returncode == 0, resumed.stderr
    with sqlite3.connect(db_path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (STORE_VERSION,)
        db.execute(f"PRAGMA user_version = {STORE_VERSION + 1}")
    before = _dump(db_path)
    newer = cli_in_process("run", "--resume", str(out), "--no-progress")
    assert newer.returncode == 2 and "written by a newer inpaintbench (store version 2" in newer.stderr
    assert len(newer.stderr.strip().splitlines()) == 1 and _dump(db_path) == before
    with sqlite3.connect(db_path) as db:
        identity = json.loads(db.execute("SELECT value FROM meta WHERE key = 'identity'").fetchone()[0])
        db.execute(
            "UPDATE meta SET value = ? WHERE key = 'identity'", (json.dumps(identity | {"fingerprint": "0"}),)
        )
        db.execute("DELETE FROM images")
        db.execute("PRAGMA user_version = 0")
    legacy = cli_in_process("run", "--resume", str(out), "--no-progress")
    assert legacy.returncode == 2 and "from before the per-image listing" in legacy.stderr


#: Runs the CLI and prints the process's own peak RSS in KiB.
PEAK = (
    "import resource, sys\n"
    "from inpaintbench.cli import main\n"
    "rc = main(sys.argv[1:])\n"
    "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    "sys.exit(rc)\n"
)


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_the_number_of_images(tmp_path):
    """64 photos at 512 px against 16, in batches of 4 (both past the first batches, when the pipeline fills
    up): a runner holding every decoded image (3 MB each as float32) and mask would need some 160 MB more
    for the larger run; this one stays within noise (measured: within 40 MB)."""
    data = tmp_path / "photos"
    data.mkdir()
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (512, 683, 3), dtype=np.uint8)
    for i in range(64):
        Image.fromarray(np.roll(base, 7 * i, axis=1)).save(data / f"{i:03d}.jpg", quality=85)
    peaks = {}
    for n in (16, 64):
        argv = ["run", "--model", "mean_fill", "--masks", "center,random", "--metrics", "psnr", "--no-images"]
        argv += ["--dataset", f"folder:{data}", "--image-size", "512", "--batch-size", "4", "--limit", str(n)]
        argv += ["--no-progress", "--out", str(tmp_path / f"run{n}")]
        command = [sys.executable, "-c", PEAK, *argv]
        done = subprocess.run(command, capture_output=True, text=True, env=cli_env())
        assert done.returncode == 0, done.stderr
        peaks[n] = int(done.stdout.strip().splitlines()[-1]) / 1024
    assert peaks[64] < peaks[16] + 90, peaks


class SlowPrepare(Model):
    name = "slow_prepare"
    description = "Mid grey after a slow prepare, as a model that trains there."

    def prepare(self, ctx):
        time.sleep(0.5)

    def inpaint(self, batch):
        return batch.images * 0 + 0.5


class SlowGrey(Model):
    name = "slow_grey"
    description = "Mid grey, slowly."

    def inpaint(self, batch):
        time.sleep(0.1)
        return batch.images * 0 + 0.5


class ThreadsSeen(Metric):
    name = "threads_seen"
    description = "torch's intra-op thread count while the metric runs (slowly, to widen any overlap)."
    higher_is_better = False

    def compute(self, pred, target, mask):
        time.sleep(0.1)
        return torch.full((pred.shape[0],), float(torch.get_num_threads()))


def test_metrics_run_on_the_evaluation_threads_while_a_model_prepares(tmp_path, monkeypatch):
    """A model's prepare gets every CPU, so a metric scoring the first model's batch while the second
    prepares would run on that count (with OpenMP the scoring thread keeps the count it first meets for
    the whole run), and a convolution's sums, such as LPIPS's or Inception's, in another order: values
    would depend on timing. Every score is taken on the evaluation's count."""
    registry = build_registry()
    for model in (SlowPrepare, SlowGrey):
        registry.components["model"][model.name] = model
    registry.components["metric"][ThreadsSeen.name] = ThreadsSeen
    monkeypatch.setenv("INPAINTBENCH_WORKERS", "64")  # loaders take every CPU: the evaluation gets 1 thread
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = torch.get_num_threads()
    torch.set_num_threads(3)  # what a prepare gets back
    try:
        # one regime and small images: the scoring thread's first parallel op is the metric's, 0.1 s in
        config = RunConfig(models=["slow_grey", "slow_prepare"], masks=["center"], metrics=["threads_seen"],
                           image_size=16, limit=6, batch_size=2, save_images=False)  # fmt: skip
        Runner(config, tmp_path / "run", ["run"], progress=False, registry=registry, log=print).execute()
    finally:
        torch.set_num_threads(before)
    seen = pd.read_csv(tmp_path / "run" / layout.RESULTS_CSV)["threads_seen"]
    assert len(seen) == 2 * 6 and set(seen) == {1.0}, seen.value_counts()


class Vandal(Metric):
    """Scores 0 and wrecks its inputs in place; listed first, so every other metric comes after it."""

    name = "vandal"
    higher_is_better = True

    def compute(self, pred, target, mask):
        pred.zero_(), target.fill_(1.0), mask.zero_()
        return torch.zeros(pred.shape[0])


def test_a_metric_that_edits_its_inputs_changes_nothing_else(tmp_path):
    """Each metric's inputs are its own copies (reused buffers, ``scoring.Copies``): PSNR and the saved
    predictions are those of a run without the vandal, batch after batch."""
    registry = build_registry()
    registry.components["metric"][Vandal.name] = Vandal
    runs = {}
    for metrics in (["vandal", "psnr", "ssim"], ["psnr", "ssim"]):
        out = tmp_path / "-".join(metrics)
        config = RunConfig(models=["mean_fill"], masks=["center", "random"], metrics=metrics, image_size=32,
                           limit=7, batch_size=3)  # fmt: skip
        Runner(config, out, ["run"], progress=False, registry=registry, log=print).execute()
        runs[len(metrics)] = out
    vandalised, plain = (pd.read_csv(runs[n] / layout.RESULTS_CSV) for n in (3, 2))
    assert (vandalised["vandal"] == 0).all() and len(plain) == 14
    pd.testing.assert_frame_equal(vandalised[plain.columns], plain)
    for regime in ("center", "random"):
        for image_id in plain["image"]:
            first, second = (layout.prediction_png(r, "mean_fill", regime, image_id) for r in runs.values())
            assert first.read_bytes() == second.read_bytes()
