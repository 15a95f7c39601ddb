"""Training: the loss falls, bf16 follows fp32, runs are reproducible, an interrupted run resumes
where it stopped (and ends where an uninterrupted one does)."""

from __future__ import annotations

import os

import pytest
import torch
from inpaintbench_context_encoder import hardware
from inpaintbench_context_encoder import trainer as trainer_module
from inpaintbench_context_encoder.checkpoint import find_checkpoint
from inpaintbench_context_encoder.config import PRESETS, config_from_options
from inpaintbench_context_encoder.hardware import fast_bf16, resolve_precision
from inpaintbench_context_encoder.step import TrainStep
from inpaintbench_context_encoder.trainer import step_limit, train
from safetensors.torch import load_file

from inpaintbench import InpaintbenchError, get_registry

CPU = torch.device("cpu")
BATCHES = trainer_module.batches


def run_steps(cfg, batch: torch.Tensor, n: int) -> tuple[list[dict[str, float]], list[torch.dtype]]:
    """``n`` training steps on one fixed batch from seed 0: the losses and the generator's output dtypes."""
    torch.manual_seed(0)
    step = TrainStep(cfg, CPU)
    dtypes: list[torch.dtype] = []
    step.gen.register_forward_hook(lambda m, i, out: dtypes.append(out.dtype))
    losses = [{k: v.item() for k, v in step(batch).items()} for _ in range(n)]
    return losses, dtypes


@pytest.mark.slow
def test_a_few_steps_lower_the_loss_on_a_fixed_batch(tiny_config, fixed_batch):
    """Eight steps on one batch of four: the generator's weighted L2 falls by more than 15% (measured:
    1.131 -> 0.778, seed 0) and falls in most steps; every loss stays finite."""
    losses, _ = run_steps(tiny_config(batch_size=4), fixed_batch, 8)
    l2 = [row["g_l2"] for row in losses]
    assert l2[-1] < 0.85 * l2[0]
    assert sum(b < a for a, b in zip(l2, l2[1:], strict=False)) >= 6
    assert all(torch.isfinite(torch.tensor(list(row.values()))).all() for row in losses)


def test_bf16_autocast_follows_fp32(tiny_config, fixed_batch):
    """Neither the code nor benchmarks/ce_train_throughput.py states a tolerance (the benchmark prints
    the first-step losses of both). The one set here: from the same weights and batch, the weighted L2
    agrees within 1% over the first three steps (measured <= 0.3%); on the first step, before any
    update, the discriminator and adversarial losses agree within 0.05 (measured <= 0.007). Later GAN
    losses are not compared: one step of bf16 rounding moved the discriminator loss from 1.89 to 2.54.
    Autocast is not CUDA-only in step.py: ``precision=bf16`` runs it on the CPU, which this checks (on
    CPUs without AMX it is ~15x slower than fp32, which is why ``auto`` picks fp32 there)."""
    batch = fixed_batch[:2]
    fp32, fp32_dtypes = run_steps(tiny_config(precision="fp32"), batch, 3)
    bf16, bf16_dtypes = run_steps(tiny_config(precision="bf16"), batch, 3)
    assert set(fp32_dtypes) == {torch.float32} and set(bf16_dtypes) == {torch.bfloat16}
    for a, b in zip(fp32, bf16, strict=True):
        assert b["g_l2"] == pytest.approx(a["g_l2"], rel=1e-2)
    for key in ("d", "g_adv"):
        assert bf16[0][key] == pytest.approx(fp32[0][key], abs=0.05)


def test_precision_choice():
    assert resolve_precision("fp32", torch.device("cuda")) == "fp32"
    assert resolve_precision("bf16", CPU) == "bf16"
    assert resolve_precision("auto", torch.device("cuda")) == "bf16"
    fast = hardware.cpu_level() in ("amx", "avx512_bf16")
    assert resolve_precision("auto", CPU) == ("bf16" if fast else "fp32")


@pytest.mark.parametrize(
    ("flags", "level", "precision"),
    [
        ("fpu sse2 avx avx2 fma avx512f avx512bw avx512_bf16 amx_bf16 amx_tile amx_int8", "amx", "bf16"),
        ("sse2 avx avx2 fma avx512f avx512bw avx512_vnni avx512_bf16", "avx512_bf16", "bf16"),
        ("sse2 avx avx2 fma avx512f avx512bw avx512_vnni", "avx512", "fp32"),
        ("sse2 avx avx2 fma", "avx2", "fp32"),
        ("sse2", "other", "fp32"),
    ],
)
def test_auto_precision_follows_the_cpu_features(monkeypatch, flags, level, precision):
    """The Xeon with AMX and the EPYC with AVX512-BF16 (the quick step 1.56x faster in bf16) train in
    bf16; plain AVX-512 and AVX2 (bf16 emulated, far slower) in fp32. From the flags alone: the same
    choice however busy the machine is."""
    assert hardware.level_from_flags(frozenset(flags.split())) == level
    monkeypatch.setattr(hardware, "cpu_level", lambda: level)
    assert resolve_precision("auto", CPU) == precision and fast_bf16(CPU) == (precision == "bf16")
    assert hardware.device_kind(CPU) == f"cpu:{level}"


def test_the_cpu_level_of_this_machine_is_one_of_the_known_ones():
    assert hardware.cpu_level() in hardware.CPU_LEVELS
    assert hardware.resolved(PRESETS["quick"]["center"], CPU).threads == torch.get_num_threads()


@pytest.fixture(scope="module")
def reference_run(tiny_config, train_images, tmp_path_factory):
    """Three uninterrupted steps (batch 2) on the synthetic images."""
    directory = tmp_path_factory.mktemp("reference")
    return train(tiny_config(), train_images, directory, CPU, progress=False)


def weights_of(ckpt) -> dict[str, torch.Tensor]:
    return load_file(ckpt.weights_path)


def assert_same_tensors(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, different[:5]


@pytest.mark.slow
def test_training_is_reproducible(reference_run, tiny_config, train_images, tmp_path):
    """Same seed, same steps, same threads: bit-identical tensors and weights files; another seed differs."""
    again = train(tiny_config(), train_images, tmp_path / "again", CPU, progress=False)
    assert again.step == reference_run.step == 3 and again.complete
    assert_same_tensors(weights_of(again), weights_of(reference_run))
    assert again.meta["weights_sha256"] == reference_run.meta["weights_sha256"]
    other = train(tiny_config(seed=1, steps=1), train_images, tmp_path / "other", CPU, progress=False)
    first = train(tiny_config(steps=1), train_images, tmp_path / "first", CPU, progress=False)
    assert not torch.equal(weights_of(other)["generator.0.weight"], weights_of(first)["generator.0.weight"])


def test_progress_bar_only_when_asked(tiny_config, train_images, tmp_path, capfd):
    """``progress=False`` (``--no-progress``) prints nothing, also with the lr decay's budget tracking."""
    train(tiny_config(steps=1, lr_decay=True), train_images, tmp_path / "quiet", CPU, progress=False)
    assert capfd.readouterr().err == ""
    train(tiny_config(steps=1, lr_decay=True), train_images, tmp_path / "bar", CPU, progress=True)
    assert "context_encoder center" in capfd.readouterr().err


def stop_after(monkeypatch, n_batches: int, exc: BaseException) -> list[int]:
    """Make the trainer's batch stream raise ``exc`` after ``n_batches`` (KeyboardInterrupt: a Ctrl-C
    while the next batch loads); returns the list that each stream's start step is appended to."""
    real_batches = trainer_module.batches
    starts: list[int] = []

    def batches(crops, batch_size, start_step, device, workers):
        starts.append(start_step)
        stream = real_batches(crops, batch_size, start_step, device, workers)
        for _ in range(n_batches):
            yield next(stream)
        raise exc

    monkeypatch.setattr(trainer_module, "batches", batches)
    return starts


@pytest.mark.slow
def test_interrupted_training_resumes_where_it_stopped(
    reference_run, tiny_config, train_images, tmp_path, monkeypatch
):
    """Ctrl-C after 2 of 3 steps saves step 2 (with a checkpoint every step on the way: the interval
    set to 0); rerunning resumes at step 2, trains exactly one step, and ends bit-identical to the
    uninterrupted run, which needs the weights, Adam moments and data stream all to continue."""
    monkeypatch.setattr(trainer_module, "SAVE_EVERY_S", 0.0)
    stop_after(monkeypatch, 2, KeyboardInterrupt())
    logs: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        train(tiny_config(), train_images, tmp_path, CPU, log=logs.append, progress=False)
    saved = find_checkpoint(tmp_path)
    assert (saved.step, saved.complete) == (2, False)
    assert sorted(p.name for p in tmp_path.glob("*.safetensors")) == [
        "optimizer-00000002.safetensors",
        "weights-00000002.safetensors",
    ]
    assert "interrupted; saved step 2" in logs[-1]

    starts = stop_after(monkeypatch, 1, AssertionError("a resumed run drew a batch past step 3"))
    done = train(tiny_config(), train_images, tmp_path, CPU, log=logs.append, progress=False)
    assert starts == [2]
    assert any("resuming center training" in line and "at step 2" in line for line in logs)
    assert (done.step, done.complete) == (3, True)
    assert done.meta["elapsed_s"] > saved.meta["elapsed_s"]
    assert_same_tensors(weights_of(done), weights_of(reference_run))
    assert [p.name for p in sorted((tmp_path / "samples").iterdir())] == [
        "step-00000001.png",
        "step-00000002.png",
        "step-00000003.png",
    ]
    rows = (tmp_path / "losses.csv").read_text().splitlines()
    assert rows[0].startswith("step,") and rows[-1].startswith("3,")


def test_a_finished_run_is_returned_not_retrained(reference_run, tiny_config, train_images, monkeypatch):
    starts = stop_after(monkeypatch, 0, AssertionError("a finished run was trained again"))
    again = train(tiny_config(), train_images, reference_run.directory, CPU, progress=False)
    assert starts == []
    assert (again.step, again.meta["elapsed_s"]) == (reference_run.step, reference_run.meta["elapsed_s"])
    assert again.meta["weights_sha256"] == reference_run.meta["weights_sha256"]


def test_a_directory_of_another_configuration_is_refused(reference_run, tiny_config, train_images):
    """Another recipe or other training data never continues a directory's checkpoint."""
    with pytest.raises(InpaintbenchError, match="another configuration"):
        train(tiny_config(bottleneck=32), train_images, reference_run.directory, CPU, progress=False)
    other_data = type(train_images)(train_images.images, "other-fingerprint")
    with pytest.raises(InpaintbenchError, match="another configuration"):
        train(tiny_config(), other_data, reference_run.directory, CPU, progress=False)


def test_step_limit(tiny_config):
    """Epochs count ceil(n / batch) steps as the Lua loop does; with steps set, the smaller wins."""
    assert step_limit(tiny_config(steps=None, epochs=2, batch_size=64), 14_900) == 2 * 233
    assert step_limit(tiny_config(steps=100, epochs=2, batch_size=64), 14_900) == 100
    assert step_limit(tiny_config(steps=None, minutes=1.0), 10) is None


def test_options():
    quick = config_from_options({})
    assert quick == PRESETS["quick"]["center"] and quick.minutes is None and quick.bottleneck == "channelwise"
    cfg = config_from_options(
        {"steps": "2", "bottleneck": "64", "batch_size": "4", "precision": "bf16", "train_seed": "3"},
        "random",
    )
    assert (cfg.steps, cfg.minutes, cfg.epochs) == (2, None, None)  # steps replaces the preset's length
    assert (cfg.bottleneck, cfg.batch_size, cfg.precision, cfg.seed, cfg.mode) == (64, 4, "bf16", 3, "random")
    paper = config_from_options({"preset": "paper", "bottleneck": "channelwise", "condition_adv": "yes"})
    assert (paper.bottleneck, paper.epochs, paper.load_size, paper.condition_adv) == (
        "channelwise",
        500,
        350,
        True,
    )
    for options, message in [
        ({"preset": "huge"}, "preset='huge'"),
        ({"steps": "many"}, "steps='many'"),
        ({"steps": "0"}, "steps='0'"),
        ({"bottleneck": "-3"}, "bottleneck='-3'"),
        ({"batch_size": "1"}, "batch_size='1'"),
        ({"precision": "fp16"}, "precision='fp16'"),
        ({"condition_adv": "maybe"}, "condition_adv='maybe'"),
    ]:
        with pytest.raises(InpaintbenchError, match=message):
            config_from_options(options)
    with pytest.raises(InpaintbenchError, match="condition_adv"):
        config_from_options({"condition_adv": "1"}, "random")


def test_lr_decay_falls_linearly_to_zero_over_the_steps(tiny_config, train_images, tmp_path, monkeypatch):
    seen: list[float] = []
    original = trainer_module.TrainStep.__call__

    def record(self, real, hole=None):
        seen.append(self.opt_g.param_groups[0]["lr"] / self.cfg.lr_g)
        assert self.opt_d.param_groups[0]["lr"] / self.cfg.lr_d == pytest.approx(seen[-1])
        return original(self, real, hole)

    monkeypatch.setattr(trainer_module.TrainStep, "__call__", record)
    train(tiny_config(steps=4, lr_decay=True), train_images, tmp_path, CPU, progress=False)
    assert seen == pytest.approx([1.0, 0.75, 0.5, 0.25])


RECORD_KEYS = {"steps", "train_seconds", "seed", "precision", "device_kind", "threads", "length"}
RECORD_KEYS |= {"minutes_budget", "test_views"}


def test_a_checkpoint_says_what_was_trained(reference_run):
    """The keys run.json carries per network, resolved: no 'auto', the thread count as run."""
    meta = reference_run.meta
    assert meta.keys() >= RECORD_KEYS
    assert (meta["steps"], meta["seed"], meta["precision"], meta["length"], meta["minutes_budget"]) == (
        3,
        0,
        "fp32",
        "steps",
        None,
    )
    assert meta["device_kind"] == hardware.device_kind(CPU) and meta["threads"] == 1  # conftest's count
    assert meta["config"]["threads"] == 1 and meta["config"]["precision"] == "fp32"
    assert meta["train_seconds"] == meta["elapsed_s"] > 0 and meta["test_views"] == 2


def test_a_wall_clock_budget_is_recorded_as_one(tiny_config, train_images, tmp_path, capfd):
    """``minutes`` is kept as an explicit choice; its checkpoint says the length was a budget, and the
    bar counts the budget's seconds (so it has a total and an ETA)."""
    ckpt = train(tiny_config(steps=None, minutes=0.0005), train_images, tmp_path, CPU, progress=True)
    assert (ckpt.meta["length"], ckpt.meta["minutes_budget"]) == ("minutes", 0.0005)
    assert ckpt.step >= 1 and ckpt.meta["train_seconds"] >= 0.03
    assert "/0 s [" in capfd.readouterr().err  # 0.03 s budget, shown rounded


def test_training_runs_on_its_thread_count_and_restores_torchs(
    tiny_config, train_images, tmp_path, monkeypatch
):
    seen: list[int] = []
    original = trainer_module.TrainStep.__call__

    def record(self, real, hole=None):
        seen.append(torch.get_num_threads())
        return original(self, real, hole)

    monkeypatch.setattr(trainer_module.TrainStep, "__call__", record)
    ckpt = train(tiny_config(steps=2, threads=2), train_images, tmp_path, CPU, progress=False)
    assert seen == [2, 2] and torch.get_num_threads() == 1 and ckpt.meta["threads"] == 2


def quick_like(tiny_config, **changes):
    """The quick preset's recipe (random regime, quarter turns, lr decay over the steps) at tiny size."""
    return tiny_config(mode="random", augment="dihedral", lr_decay=True, steps=4, **changes)


def train_random(cfg, images, directory):
    masks = get_registry().get("mask", "random")
    return train(cfg, images, directory, CPU, log=lambda _: None, progress=False, masks=masks)


@pytest.fixture(scope="module")
def quick_like_run(tiny_config, train_images, tmp_path_factory):
    return train_random(quick_like(tiny_config), train_images, tmp_path_factory.mktemp("q"))


@pytest.mark.slow
def test_a_checkpoint_after_every_step_changes_nothing(
    quick_like_run, tiny_config, train_images, tmp_path, monkeypatch
):
    """When a periodic save happens depends on the clock; a save only reads the networks and the
    optimisers, so saving after every step gives the same weights file as saving at the end only."""
    monkeypatch.setattr(trainer_module, "SAVE_EVERY_S", 0.0)
    saved = train_random(quick_like(tiny_config), train_images, tmp_path)
    assert len(list((tmp_path / "samples").iterdir())) == 4  # three periodic saves and the last
    assert saved.meta["weights_sha256"] == quick_like_run.meta["weights_sha256"]
    assert saved.meta["optimizer_sha256"] == quick_like_run.meta["optimizer_sha256"]


@pytest.mark.slow
def test_an_interrupted_quick_like_run_ends_where_an_uninterrupted_one_does(
    quick_like_run, tiny_config, train_images, tmp_path, monkeypatch
):
    """Stopped after 2 of 4 steps and resumed: the same weights file (the lr schedule, masks and crops
    continue from the step count alone)."""
    stop_after(monkeypatch, 2, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        train_random(quick_like(tiny_config), train_images, tmp_path)
    assert find_checkpoint(tmp_path).step == 2
    monkeypatch.setattr(trainer_module, "batches", BATCHES)
    done = train_random(quick_like(tiny_config), train_images, tmp_path)
    assert done.step == 4 and done.meta["weights_sha256"] == quick_like_run.meta["weights_sha256"]


def test_a_checkpoint_of_another_thread_count_is_not_continued(quick_like_run, tiny_config, train_images):
    """The thread count decides the bits, so a folder trained on 1 thread is not extended on 2."""
    with pytest.raises(InpaintbenchError, match="another configuration"):
        train_random(quick_like(tiny_config, threads=2), train_images, quick_like_run.directory)


def busy_loop() -> None:
    while True:
        pass


@pytest.mark.slow
def test_a_busy_machine_trains_the_same_bits(tiny_config, train_images, tmp_path):
    """Two threads, once alone and once beside one CPU-bound process per core: the same weights file.
    Static OpenMP partitions and a length in steps leave nothing to the scheduler."""
    import multiprocessing

    cfg = tiny_config(steps=3, threads=2, batch_size=4, bottleneck="channelwise")
    alone = train(cfg, train_images, tmp_path / "alone", CPU, progress=False)
    busy = [multiprocessing.Process(target=busy_loop, daemon=True) for _ in range(os.cpu_count() or 1)]
    for proc in busy:
        proc.start()
    try:
        loaded = train(cfg, train_images, tmp_path / "loaded", CPU, progress=False)
    finally:
        for proc in busy:
            proc.kill()
            proc.join()
    assert loaded.meta["weights_sha256"] == alone.meta["weights_sha256"]
    assert loaded.meta["threads"] == alone.meta["threads"] == 2
