"""The registered model end to end: entry point, train-or-load, caching, inpainting, provenance."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from inpaintbench_context_encoder.model import ContextEncoder, network_for
from inpaintbench_context_encoder.stream import CACHE_FOLDER

from inpaintbench import InpaintbenchError, PrepareContext, TrainSplit, get_registry
from inpaintbench.runner.model.sealed import seal

TINY = {"steps": "2", "batch_size": "4", "bottleneck": "16"}


def checkpoint_folders(cache: Path) -> list[Path]:
    """The cache's checkpoint folders (it also holds the decoded training images, ``stream.py``)."""
    return [p for p in cache.iterdir() if p.name != CACHE_FOLDER]


def context(tmp_path: Path, regimes: list[str], options: dict[str, str], lines: list[str]) -> PrepareContext:
    return PrepareContext(
        train_dataset=TrainSplit(lambda: get_registry().get("dataset", "samples"), "samples"),
        image_size=128,
        device=torch.device("cpu"),
        seed=0,
        regimes=regimes,
        options=options,
        cache_dir=tmp_path,
        log=lines.append,
        progress=False,
    )


def test_entry_point_registers_the_model_without_importing_torch() -> None:
    assert get_registry().names("model").count("context_encoder") == 1
    code = "import sys, inpaintbench_context_encoder.plugin; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_regimes_map_to_networks() -> None:
    assert network_for("center") == "center"
    assert [network_for(r) for r in ("random", "block", "ratio:0.1-0.2")] == ["random"] * 3


def test_prepare_trains_only_what_the_regimes_need_then_reuses_it(tmp_path) -> None:
    lines: list[str] = []
    model = ContextEncoder()
    model.prepare(context(tmp_path, ["center"], TINY, lines))
    assert [p.name.split("-")[1] for p in checkpoint_folders(tmp_path)] == ["center"]
    assert (tmp_path / CACHE_FOLDER).is_dir()  # the samples split, decoded once
    assert "trained now" in lines[-1] and str(tmp_path) in lines[-1]
    again = ContextEncoder()
    again.prepare(context(tmp_path, ["center"], TINY, lines))
    assert "trained earlier" in lines[-1]
    assert again.source("center") == model.source("center") != ""
    assert again.source("random") == ""
    info = again.provenance()["networks"]["center"]
    assert info["steps"] == 2 and len(info["sha256"]) == 64 and info["config"]["bottleneck"] == 16
    assert info["checkpoint"] == again.source("center")
    assert info["output"] == "inner 56 x 56 of the centre; its 4-pixel ring is the biharmonic estimate"


@pytest.mark.slow
def test_inpaint_returns_unit_range_images_at_any_size(tmp_path) -> None:
    model = ContextEncoder()
    model.prepare(context(tmp_path, ["center", "random"], TINY, []))
    for size in (128, 96, 200):
        images = torch.rand(2, 3, size, size)
        masks = torch.zeros(2, 1, size, size)
        masks[..., size // 4 : size // 4 + size // 2, size // 4 : size // 4 + size // 2] = 1
        for regime in ("center", "random"):
            out = model.inpaint(seal(images, masks, ["a", "b"], regime))
            assert out.shape == images.shape and out.min() >= 0 and out.max() <= 1
    with pytest.raises(InpaintbenchError, match="not prepared"):
        ContextEncoder().inpaint(seal(images, masks, ["a", "b"], "center"))


@pytest.mark.slow
def test_hidden_pixels_are_not_read(tmp_path) -> None:
    """The host blanks the hole before the model sees it; the network's own mean fill makes its
    output independent of whatever the hole holds, so sealed and unsealed inputs give equal output."""
    from inpaintbench import Batch

    model = ContextEncoder()
    model.prepare(context(tmp_path, ["center", "random"], TINY, []))
    images = torch.rand(1, 3, 128, 128)
    masks = torch.zeros(1, 1, 128, 128)
    masks[..., 32:96, 32:96] = 1
    other = images.clone()
    other[..., 32:96, 32:96] = torch.rand(1, 3, 64, 64)
    for regime in ("center", "random"):
        outputs = [model.inpaint(Batch(x, masks, ("a",), regime)) for x in (images, other)]
        assert torch.equal(outputs[0], outputs[1])
        assert torch.equal(outputs[0], model.inpaint(seal(images, masks, ["a"], regime)))


@pytest.mark.slow
def test_checkpoint_option_loads_instead_of_training(tmp_path) -> None:
    trainer = ContextEncoder()
    centre = trainer.train(context(tmp_path / "a", ["center"], TINY | {"out": str(tmp_path / "c")}, []))
    random = trainer.train(context(tmp_path / "a", ["random"], TINY | {"mode": "random"}, []))
    assert centre == tmp_path / "c" and random.parent == tmp_path / "a"
    model = ContextEncoder()
    given = {"checkpoint": f"{random},{centre}"}
    model.prepare(context(tmp_path / "empty", ["center", "random"], given, []))
    assert not (tmp_path / "empty").exists()
    assert model.source("random").startswith(str(random))
    with pytest.raises(InpaintbenchError, match="no random network"):
        ContextEncoder().prepare(context(tmp_path, ["random"], {"checkpoint": str(centre)}, []))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"preset": "huge"}, "preset='huge'"),
        ({"steps": "-3"}, "steps='-3'"),
        ({"bottleneck": "wide"}, "bottleneck='wide'"),
        ({"condition_adv": "maybe"}, "condition_adv='maybe'"),
        ({"mode": "random", "condition_adv": "1"}, "condition_adv"),
    ],
)
def test_bad_options_name_the_option(tmp_path, options, message) -> None:
    with pytest.raises(InpaintbenchError, match=message):
        ContextEncoder().train(context(tmp_path, ["center"], options, []))


def test_a_misspelt_option_stops_the_run_before_training(tmp_path) -> None:
    home = tmp_path / "home"
    result = subprocess.run(
        [sys.executable, "-m", "inpaintbench.cli", "run", "--model", "context_encoder"]
        + ["--option", "bottlneck=64", "--out", str(tmp_path / "run"), "--no-progress"],
        capture_output=True,
        text=True,
        env={**os.environ, "INPAINTBENCH_HOME": str(home)},
    )
    assert result.returncode == 2
    assert "option 'bottlneck' is not read by any model of this run (context_encoder" in result.stderr
    assert "bottleneck" in result.stderr.split("they read:")[1]
    assert not home.exists() and not (tmp_path / "run").exists()  # nothing trained, nothing written


@pytest.mark.slow
@pytest.mark.parametrize("views", [2, 8])
def test_test_time_views_make_the_prediction_commute_with_them(tmp_path, views) -> None:
    """Averaging over the mirror (and quarter-turn) views makes the inpainting of a mirrored (turned)
    image the mirrored (turned) inpainting, which a single view does not give."""
    from inpaintbench_context_encoder.infer import inpaint_centre, inpaint_random

    model = ContextEncoder()
    model.prepare(context(tmp_path, ["center", "random"], TINY, []))
    images = torch.rand(2, 3, 128, 128, generator=torch.Generator().manual_seed(0))
    masks = (torch.rand(2, 1, 128, 128, generator=torch.Generator().manual_seed(1)) < 0.25).float()
    centre = torch.zeros_like(masks)
    centre[..., 32:96, 32:96] = 1
    (c_ckpt, c_gen), (_, r_gen) = model._nets["center"], model._nets["random"]
    turn = (lambda x: x.flip(-1)) if views == 2 else (lambda x: torch.rot90(x, 1, (-2, -1)))
    cases = [
        (lambda x, m, v: inpaint_centre(c_gen, x, m, c_ckpt.config.overlap, v), centre),
        (lambda x, m, v: inpaint_random(r_gen, x, m, v), masks),
    ]
    for predict, hole in cases:
        averaged = predict(turn(images), turn(hole), views)
        torch.testing.assert_close(averaged, turn(predict(images, hole, views)), atol=1e-5, rtol=0)
        single = predict(turn(images), turn(hole), 1)
        assert (single - turn(predict(images, hole, 1))).abs().max() > 1e-3


@pytest.mark.slow
def test_test_views_default_to_the_training_transforms(tmp_path) -> None:
    model = ContextEncoder()
    model.prepare(context(tmp_path, ["center"], TINY | {"augment": "dihedral"}, []))
    assert model.provenance()["networks"]["center"]["test_views"] == 8
    model.prepare(context(tmp_path, ["center"], TINY | {"tta": "1"}, []))
    assert model.provenance()["networks"]["center"]["test_views"] == 1
    lines: list[str] = []
    with pytest.raises(InpaintbenchError, match="tta='3'"):  # refused before anything is trained
        ContextEncoder().prepare(context(tmp_path / "fresh", ["center"], TINY | {"tta": "3"}, lines))
    assert not (tmp_path / "fresh").exists() and lines == []


RECORD_KEYS = ("steps", "train_seconds", "seed", "precision", "device_kind", "threads", "length")
RECORD_KEYS += ("minutes_budget", "test_views")


@pytest.mark.slow
def test_provenance_and_the_cache_folder_say_what_was_trained(tmp_path) -> None:
    """run.json gets the resolved precision, device kind and thread count; each of them, like the
    length, is part of the cache folder's name, so runs that compute other bits never share one."""
    from inpaintbench_context_encoder.hardware import device_kind, resolve_precision

    lines: list[str] = []
    model = ContextEncoder()
    model.prepare(context(tmp_path, ["center"], TINY, lines))
    prov = model.provenance()
    info = prov["networks"]["center"]
    assert set(RECORD_KEYS) <= info.keys()
    cpu = torch.device("cpu")
    expected = (2, 0, resolve_precision("auto", cpu), device_kind(cpu), 1, "steps", None, 8)
    assert tuple(info[k] for k in RECORD_KEYS if k != "train_seconds") == expected
    assert info["train_seconds"] > 0 and info["config"]["precision"] != "auto"
    assert prov["labels"] == ["center network: 8 test-time views"]
    assert "2 steps in" in lines[-1] and "a fixed step count" in lines[-1] and "1 threads" in lines[-1]
    model.prepare(context(tmp_path, ["center"], TINY | {"threads": "2"}, lines))
    model.prepare(context(tmp_path, ["center"], {**TINY, "minutes": "0.0005", "tta": "1"}, lines))
    assert "a 0.0005-minute wall-clock budget" in lines[-1]
    assert len(checkpoint_folders(tmp_path)) == 3
    timed = model.provenance()
    assert (timed["networks"]["center"]["length"], timed["networks"]["center"]["minutes_budget"]) == (
        "minutes",
        0.0005,
    )
    assert "1 test-time view; trained for a 0.0005-minute wall-clock budget" in timed["labels"][0]


@pytest.mark.slow
def test_an_older_checkpoint_without_the_new_keys_still_loads(tmp_path) -> None:
    """Checkpoints written before steps/seed/precision/... were recorded: None where not known."""
    import json

    folder = ContextEncoder().train(context(tmp_path, ["center"], TINY | {"out": str(tmp_path / "c")}, []))
    pointer = folder / "checkpoint.json"
    meta = json.loads(pointer.read_text())
    for key in (*RECORD_KEYS, "threads"):
        meta.pop(key, None)
    meta["config"].pop("threads")
    meta["config"]["precision"] = "auto"
    pointer.write_text(json.dumps(meta))
    model = ContextEncoder()
    model.prepare(context(tmp_path / "unused", ["center"], {"checkpoint": str(folder)}, []))
    info = model.provenance()["networks"]["center"]
    assert info["steps"] == 2 and info["train_seconds"] == meta["elapsed_s"] and info["test_views"] == 8
    assert [info[k] for k in ("seed", "device_kind", "threads", "length", "minutes_budget")] == [None] * 5


BAD_VALUES = [
    (["--minutes", "nan"], "option minutes='nan' must be a positive (finite) number"),
    (["--minutes", "inf"], "option minutes='inf' must be a positive (finite) number"),
    (["--option", "tta=3"], "option tta='3' must be 1, 2 or 8"),
    (["--option", "image_cache=2"], "option image_cache='2' must be one of auto, 1, 0"),
    (["--option", "mode=sideways"], "option mode='sideways'"),
    (["--checkpoint", "/nonexistent/ckpt"], "checkpoint '/nonexistent/ckpt' does not exist"),
    (["--checkpoint", "POINTER"], "has no 'config' object"),
]


@pytest.mark.parametrize(
    ("command", "args", "message"),
    [("run", *case) for case in BAD_VALUES] + [("train", *case) for case in BAD_VALUES[:5]],
)
def test_a_bad_option_value_is_one_line_before_any_work(tmp_path, command, args, message) -> None:
    """Every option value is checked as the command starts (``run``: before the folder exists), so a
    typo is exit status 2, not a network trained forever on NaN or a model failure after the folder."""
    from inpaintbench.testing import invoke

    pointer = tmp_path / "checkpoint.json"
    pointer.write_text('{"format": "inpaintbench-context-encoder/1"}')
    args = [str(pointer) if a == "POINTER" else a for a in args]
    common = ["--model", "context_encoder", "--out", str(tmp_path / "out"), "--no-progress"]
    run = ["--masks", "center", "--metrics", "psnr", "--limit", "2", "--image-size", "64"]
    result = invoke([command, *common, *(run if command == "run" else []), *args],
                    env={"INPAINTBENCH_HOME": str(tmp_path / "home")})  # fmt: skip
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and message in line, line
    assert not (tmp_path / "out").exists() and not (tmp_path / "home").exists()
