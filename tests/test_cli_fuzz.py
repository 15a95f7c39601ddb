"""Random bad invocations of every command that reads input (run, --resume, train, report, export, freeze,
masks), in this process: never a traceback or an "unexpected" line, an input error is exactly one
``error:`` line (after any warnings) with exit status 2, and a zero exit of ``run`` always means a
complete results.csv.

The sample is seeded (``FUZZ_SEED``) so a failure reproduces; each invocation changes one or two options
of a small valid command, or runs a valid command on a folder whose files were tampered with.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from conftest import cli_in_process

FUZZ_SEED = 14
#: Invocations per command; 160 in all.
PER_COMMAND = {"run": 40, "resume": 30, "train": 20, "report": 25, "export": 15, "freeze": 10, "masks": 20}
NON_UTF8 = os.fsdecode(b"caf\xe9-\xff")  # a name as a Latin-1 shell would pass it
PLUGINS = "toy,context_encoder"

NUMBERS = ["0", "-1", "-999999999999", "99999999999999999999", "1e9", "nan", "inf", "abc", "", "3.5", "0x10"]
NAMES = ["", ",", ":", "::", "nope", "mean_fill:", "mean_fill:x", "center:", "center::x", "psnr:lama",
         "folder:", "folder:/nonexistent", "samples:x", ",,center", NON_UTF8, "x" * 300, "a\nb", "mean_fill,",
         "folder:FILE", "folder:EMPTY", "evalset:EMPTY", "predictions:/nonexistent", "tta=3", "=",
         "steps=nan"]  # fmt: skip
PATHS = ["/proc/nonexistent/dir", "FILE", "/dev/null", "", NON_UTF8, "x" * 300, "EMPTY", "FILE/below"]
POOLS = {"number": NUMBERS, "name": NAMES, "path": PATHS}

RUN_BASE = {"--model": "mean_fill", "--masks": "center", "--metrics": "psnr", "--limit": "2",
            "--image-size": "32"}  # fmt: skip
RUN_OPTIONS = {
    "--model": "name", "--masks": "name", "--metrics": "name", "--dataset": "name",
    "--train-dataset": "name", "--device": "name", "--image-size": "number", "--seed": "number",
    "--limit": "number", "--batch-size": "number", "--minutes": "number", "--out": "path", "--name": "path",
    "--checkpoint": "path", "--preset": "name", "--option": "name", "--tta": "number",
}  # fmt: skip
#: ``--steps 0`` stays in every train invocation, so none of them trains for real.
TRAIN_BASE = {"--model": "context_encoder", "--steps": "0", "--image-size": "32"}
TRAIN_OPTIONS = {"--model": "name", "--dataset": "name", "--image-size": "number", "--seed": "number",
                 "--device": "name", "--minutes": "number", "--option": "name", "--preset": "name",
                 "--out": "path", "--train-dataset": "name"}  # fmt: skip
SET_BASE = {"--dataset": "samples", "--masks": "center", "--image-size": "32", "--limit": "2"}
SET_OPTIONS = {"--dataset": "name", "--masks": "name", "--image-size": "number", "--seed": "number",
               "--limit": "number", "--out": "path"}  # fmt: skip
MASK_OPTIONS = {
    "preview": {
        "regimes": "name",
        "-n": "number",
        "--image-size": "number",
        "--seed": "number",
        "-o": "path",
    },
    "stats": {"regimes": "name", "--n": "number", "--image-size": "number", "--seed": "number"},
}


def _table(path: Path, rng: random.Random) -> None:
    """Damage a CSV file as an editor or a full disk might."""
    text = path.read_text()
    damage = [b"", bytes(range(256)), (text + "a,b\n").encode(), (text + text.splitlines(True)[-1]).encode(),
              text.replace(",", ";").encode(), text[: len(text) // 2].encode()]  # fmt: skip
    path.write_bytes(rng.choice(damage))


#: Ways to tamper with a finished run folder: run.json, the CSVs, the store.
TAMPER: list[Callable[[Path, random.Random], None]] = [
    lambda d, rng: (d / "run.json").write_text(
        rng.choice(["[]", '{"models": []}', "[" * 100_000, "{", '"x"'])
    ),
    lambda d, rng: (d / "run.json").write_text(
        json.dumps(json.loads((d / "run.json").read_text()) | {"config": {"models": "mean_fill"}})
    ),
    lambda d, rng: (d / "run.json").write_text(
        json.dumps(json.loads((d / "run.json").read_text()) | {"dataset": {"n_images": "2"}})
    ),
    lambda d, rng: _table(d / "results.csv", rng),
    lambda d, rng: _table(d / "summary.csv", rng),
    lambda d, rng: _sql(
        d,
        rng.choice(
            [
                "UPDATE meta SET value = '{x' WHERE key = 'identity'",
                "UPDATE meta SET value = '[1]' WHERE key = 'identity'",
                "UPDATE meta SET value = '\"x\"' WHERE key = 'listing_end'",
                "DELETE FROM scores WHERE rowid % 3 = 0",
                "DELETE FROM samples WHERE rowid % 2 = 0",
            ]
        ),
    ),  # fmt: skip
    lambda d, rng: (d / "run.json").unlink(),
    lambda d, rng: (d / "results.sqlite").write_bytes(b"SQLite format 3\0" + bytes(100)),
]


def _sql(run_dir: Path, statement: str) -> None:
    with sqlite3.connect(run_dir / "results.sqlite") as db:
        db.execute(statement)


def _argv(base: dict[str, str], options: dict[str, str], rng: random.Random, head: list[str]) -> list[str]:
    chosen = dict(base)
    for flag in rng.sample(sorted(options), rng.choice([1, 1, 2])):
        chosen[flag] = rng.choice(POOLS[options[flag]])
    positional = [chosen.pop("regimes")] if "regimes" in chosen else []
    return [*head, *positional, *(part for flag, value in chosen.items() for part in (flag, value))]


def _invocations(tmp_path: Path, finished: Path) -> list[list[str]]:
    rng = random.Random(FUZZ_SEED)
    cases: list[list[str]] = []
    for i in range(PER_COMMAND["run"]):
        cases.append(
            _argv(RUN_BASE | {"--out": f"run{i}"}, RUN_OPTIONS, rng, ["run", "--no-progress", "--no-images"])
        )
    for i in range(PER_COMMAND["resume"]):
        folder = Path(shutil.copytree(finished, tmp_path / f"resume{i}"))
        if rng.random() < 0.5:
            rng.choice(TAMPER)(folder, rng)
            cases.append(["run", "--resume", str(folder), "--no-progress"])
        else:
            cases.append(_argv({"--resume": str(folder)}, RUN_OPTIONS, rng, ["run", "--no-progress"]))
    for _ in range(PER_COMMAND["train"]):
        cases.append(_argv(TRAIN_BASE, TRAIN_OPTIONS, rng, ["train", "--no-progress"]))
    for i in range(PER_COMMAND["report"]):
        folder = Path(shutil.copytree(finished, tmp_path / f"report{i}"))
        rng.choice(TAMPER)(folder, rng)
        target = rng.choice([str(folder)] * 4 + PATHS)
        cases.append(
            ["report", target, "-o", f"html{i}", *rng.choice([[], ["--reference", rng.choice(NAMES)]])]
        )
    for command in ("export", "freeze"):
        for i in range(PER_COMMAND[command]):
            cases.append(_argv(SET_BASE | {"--out": f"{command}{i}"}, SET_OPTIONS, rng, [command]))
    for i in range(PER_COMMAND["masks"]):
        command = rng.choice(["stats", "preview"])
        options = MASK_OPTIONS[command]
        base = {"regimes": "center", "-n" if command == "preview" else "--n": "2", "--image-size": "32"}
        base |= {"-o": f"grid{i}.png"} if command == "preview" else {}
        cases.append(_argv(base, options, rng, ["masks", command]))
    return cases


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fuzz") / "finished"
    argv = ["run", *(p for f, v in RUN_BASE.items() for p in (f, v)), "--no-progress", "--out", str(out)]
    assert cli_in_process(*argv, plugins=PLUGINS).returncode == 0
    return out


def _complete(out: Path) -> bool:
    """results.csv holds one row per model, regime and image the run's run.json says it evaluated."""
    run = json.loads((out / "run.json").read_text())
    results = pd.read_csv(out / "results.csv")
    config = run["config"]
    expected = len(config["models"]) * len(config["masks"]) * run["dataset"]["n_images"]
    return len(results) == expected and results.drop(columns="checkpoint").notna().all().all()


def _out_of(argv: list[str], cwd: Path) -> Path:
    flag = "--resume" if "--resume" in argv else "--out" if "--out" in argv else None
    if flag is not None:
        return cwd / argv[argv.index(flag) + 1]
    name = argv[argv.index("--name") + 1] if "--name" in argv else None
    return cwd / "reports" / name if name else max((cwd / "reports").iterdir(), key=os.path.getmtime)


def test_bad_invocations_never_give_a_traceback_or_a_silent_wrong_result(tmp_path, finished):
    (tmp_path / "FILE").write_text("a file, not a folder\n")
    (tmp_path / "EMPTY").mkdir()
    cases = _invocations(tmp_path, finished)
    assert len(cases) >= 150
    codes, wrong = [], []
    for argv in cases:
        result = cli_in_process(
            *argv, plugins=PLUGINS, cwd=tmp_path, INPAINTBENCH_HOME=str(tmp_path / "home")
        )
        codes.append(result.returncode)
        lines = result.stderr.strip().splitlines()
        if (
            "Traceback" in result.stderr
            or "unexpected" in result.stderr
            or result.returncode not in (0, 1, 2)
        ):
            wrong.append((argv, result.returncode, result.stderr[-300:]))
        elif result.returncode == 2 and [line.startswith("error: ") for line in lines] != [
            *(False for line in lines[:-1] if line.startswith("warning: ")),
            True,
        ]:  # warnings (an input skipped, with its reason) may come first
            wrong.append((argv, "not one error line, last", result.stderr[-300:]))
        elif result.returncode == 0 and argv[0] == "run" and not _complete(_out_of(argv, tmp_path)):
            wrong.append((argv, "exit 0 without a complete results.csv", ""))
    assert not wrong, "\n".join(map(repr, wrong))
    assert codes.count(2) >= len(cases) // 2 and codes.count(0) >= 5  # most refused, some complete
    assert not (tmp_path / "home" / "crashes").exists()
