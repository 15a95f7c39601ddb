"""The model as the host uses it: prepare (train tiny, reuse the cache, or load ``checkpoint=``),
source and provenance per regime, inpaint; and one real ``inpaintbench run`` through the CLI."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from inpaintbench_context_encoder.model import ContextEncoder, network_for

from inpaintbench import InpaintbenchError, PrepareContext, get_registry

CPU = torch.device("cpu")
TINY = {"steps": "2", "bottleneck": "64", "batch_size": "2", "precision": "fp32"}


def context(cache_dir: Path, regimes: list[str], options: dict[str, str], logs: list[str]) -> PrepareContext:
    samples = get_registry().get("dataset", "samples")
    return PrepareContext(
        dataset=samples,
        train_dataset=samples,
        image_size=128,
        device=CPU,
        seed=0,
        regimes=regimes,
        options=options,
        cache_dir=cache_dir,
        log=logs.append,
        progress=False,
    )


def snapshot(root: Path) -> dict[str, int]:
    """Every file under ``root`` with its modification time (ns)."""
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def test_registered_through_the_entry_point():
    assert isinstance(get_registry().get("model", "context_encoder"), ContextEncoder)


def test_the_entry_point_module_does_not_import_torch():
    code = "import sys, inpaintbench_context_encoder.plugin; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_which_network_serves_which_regime():
    """The centre network serves ``center`` only; the random-region network every other regime."""
    assert network_for("center") == "center"
    others = [name for name in get_registry().names("mask") if name != "center"]
    assert "random" in others and "freeform" in others
    assert {network_for(name) for name in others} == {"random"}
    assert network_for("lama-thin:512") == network_for("ratio:0.1-0.2") == "random"


@pytest.fixture(scope="module")
def cached(tmp_path_factory):
    """A first prepare for center and random: trains both tiny networks into an empty cache."""
    home = tmp_path_factory.mktemp("home")
    logs: list[str] = []
    model = ContextEncoder()
    model.prepare(context(home, ["center", "random"], dict(TINY), logs))
    return model, home, logs


def test_prepare_trains_into_the_cache(cached):
    model, home, logs = cached
    dirs = sorted(p.name for p in home.iterdir())
    assert [d.rsplit("-", 1)[0] for d in dirs] == ["context_encoder-center", "context_encoder-random"]
    assert sum("trained now: 2 steps" in line for line in logs) == 2
    centre_dir, random_dir = (home / d for d in dirs)
    assert model.source("center") == str(centre_dir / "weights-00000002.safetensors")
    for regime in ("random", "freeform", "lama-thin", "block"):
        assert model.source(regime) == str(random_dir / "weights-00000002.safetensors")
    nets = model.provenance()["networks"]
    for mode, directory in (("center", centre_dir), ("random", random_dir)):
        weights = directory / "weights-00000002.safetensors"
        assert nets[mode]["checkpoint"] == str(weights)
        assert nets[mode]["sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
        assert nets[mode]["steps"] == 2 and nets[mode]["config"]["mode"] == mode
        assert nets[mode]["config"]["bottleneck"] == 64 and nets[mode]["trained_on"] == "cpu"


def test_a_second_prepare_reuses_the_cached_checkpoints(cached):
    _, home, _ = cached
    before = snapshot(home)
    logs: list[str] = []
    again = ContextEncoder()
    again.prepare(context(home, ["center", "random"], dict(TINY), logs))
    assert snapshot(home) == before  # nothing written: no training, no new checkpoint or grid
    assert sum("trained earlier: 2 steps" in line for line in logs) == 2
    assert not any("trained now" in line for line in logs)


def test_checkpoint_option_loads_without_training(cached, tmp_path):
    """``checkpoint=`` two directories (each one's config says which network it is): nothing is trained
    or written to the cache, and the loaded networks inpaint exactly as the ones that were trained."""
    model, home, _ = cached
    spec = ",".join(str(p) for p in sorted(home.iterdir()))
    logs: list[str] = []
    loaded = ContextEncoder()
    loaded.prepare(context(tmp_path, ["center", "random"], {"checkpoint": spec}, logs))
    assert list(tmp_path.iterdir()) == [] and logs == []
    assert loaded.provenance() == model.provenance()
    images, masks = batch("center")
    assert torch.equal(loaded.inpaint(images, masks, "center"), model.inpaint(images, masks, "center"))
    assert loaded.source("center") == model.source("center")
    assert loaded.source("freeform") == model.source("random")


def test_a_checkpoint_for_only_one_network(cached, tmp_path):
    model, home, _ = cached
    centre_only = str(Path(model.source("center")).parent)
    with pytest.raises(InpaintbenchError, match="has no random network"):
        ContextEncoder().prepare(context(tmp_path, ["center", "random"], {"checkpoint": centre_only}, []))
    loaded = ContextEncoder()
    loaded.prepare(context(tmp_path, ["center"], {"checkpoint": model.source("center")}, []))  # bare weights
    assert loaded.source("random") == ""
    images, masks = batch("random")
    with pytest.raises(InpaintbenchError, match="not prepared for mask regime 'random'"):
        loaded.inpaint(images, masks, "random")


def batch(regime: str, size: int = 128) -> tuple[torch.Tensor, torch.Tensor]:
    """Two test images of the samples dataset and masks of the host's ``regime`` generator."""
    samples = get_registry().get("dataset", "samples").samples("test", size)
    images = np.stack([next(samples).image for _ in range(2)])
    generator = get_registry().get("mask", regime)
    masks = np.stack([generator.generate(np.random.default_rng(i), size, size) for i in range(2)])
    return torch.from_numpy(images).permute(0, 3, 1, 2).float(), torch.from_numpy(masks)[:, None].float()


@pytest.mark.parametrize(
    ("regime", "size"), [("center", 128), ("random", 128), ("freeform", 128), ("center", 256)]
)
def test_inpaint_returns_images_in_the_unit_range(cached, regime, size):
    model = cached[0]
    images, masks = batch(regime, size)
    out = model.inpaint(images, masks, regime)
    assert out.shape == (2, 3, size, size) and out.dtype == torch.float32
    assert out.min() >= 0 and out.max() <= 1
    assert masks.sum() > 0 and not torch.equal(out, images)


def test_train_writes_the_network_named_by_mode(tmp_path):
    out = tmp_path / "random-net"
    options = dict(TINY, mode="random", steps="1", out=str(out))
    logs: list[str] = []
    directory = ContextEncoder().train(context(tmp_path / "home", ["center"], options, logs))
    assert directory == out
    pointer = json.loads((out / "checkpoint.json").read_text())
    assert (pointer["config"]["mode"], pointer["step"], pointer["complete"]) == ("random", 1, True)
    assert not (tmp_path / "home").exists()


def run_cli(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, INPAINTBENCH_HOME=str(home), INPAINTBENCH_PLUGINS="context_encoder")
    env["OMP_NUM_THREADS"] = "1"  # see conftest.one_thread
    return subprocess.run(
        [sys.executable, "-m", "inpaintbench.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def test_inpaintbench_run_end_to_end(tmp_path):
    """``inpaintbench run --model context_encoder --masks center,random``: trains both tiny networks into
    INPAINTBENCH_HOME, and results.csv / run.json name each regime's checkpoint with its sha256 (about
    8 s on one thread, so not marked slow)."""
    home, out = tmp_path / "home", tmp_path / "run"
    args = ["run", "--model", "context_encoder", "--masks", "center,random", "--limit", "2", "--steps", "2"]
    args += ["--option", "bottleneck=64", "--option", "batch_size=2", "--option", "precision=fp32"]
    args += ["--metrics", "psnr", "--device", "cpu", "--no-progress", "--no-images", "--out", str(out)]
    done = run_cli(*args, home=home)
    assert done.returncode == 0, done.stderr
    dirs = {p.name.split("-")[1]: p for p in home.iterdir()}
    assert sorted(dirs) == ["center", "random"]
    weights = {mode: d / "weights-00000002.safetensors" for mode, d in dirs.items()}
    with open(out / "results.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4 and {r["mask"] for r in rows} == {"center", "random"}
    for row in rows:
        assert row["model"] == "context_encoder" and row["checkpoint"] == str(weights[row["mask"]])
        assert 5 < float(row["psnr"]) < 60
    info = json.loads((out / "run.json").read_text())["models"]["context_encoder"]
    assert info["sources"] == {mode: str(path) for mode, path in weights.items()}
    for mode, path in weights.items():
        net = info["provenance"]["networks"][mode]
        assert net["checkpoint"] == str(path) and net["steps"] == 2
        assert net["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
