"""The reference baselines: added beside models that name none, flagged wherever results appear."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import cli_in_process

from inpaintbench.runner.plan.references import REFERENCE_MODELS, with_references

ARGS = ["--masks", "center", "--metrics", "psnr", "--limit", "3", "--no-progress"]


def test_references_are_added_only_when_no_model_is_one():
    assert with_references(["toy_grey"]) == (["toy_grey", *REFERENCE_MODELS], list(REFERENCE_MODELS))
    assert with_references(["toy_grey", "biharmonic"]) == (["toy_grey", "biharmonic"], [])
    assert with_references(["toy_grey"], enabled=False) == (["toy_grey"], [])


@pytest.fixture(scope="module")
def one_model_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("refs")
    result = cli_in_process("run", "--model", "toy_grey", *ARGS, "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out, result.stdout


def test_a_one_model_run_is_scored_beside_the_references(one_model_run):
    out, stdout = one_model_run
    results = pd.read_csv(out / "results.csv")
    assert list(dict.fromkeys(results["model"])) == ["toy_grey", *REFERENCE_MODELS]
    # The same images and masks for every model.
    per_model = {
        tuple(zip(g["image"], g["hole_ratio"].round(6), strict=True)) for _, g in results.groupby("model")
    }
    assert len(per_model) == 1

    summary = pd.read_csv(out / "summary.csv").set_index("model")
    assert not summary.loc["toy_grey", "reference"]
    assert all(summary.loc[m, "reference"] for m in REFERENCE_MODELS)

    run = json.loads((out / "run.json").read_text())
    assert run["config"]["references"] == list(REFERENCE_MODELS)
    assert run["models"]["toy_grey"]["reference"] is False
    assert all(run["models"][m]["reference"] is True for m in REFERENCE_MODELS)

    rows = {line.split()[0]: line for line in stdout.splitlines() if line.split()[:1]}
    assert rows["biharmonic"].rstrip().endswith("reference") and "reference" not in rows["toy_grey"]

    html = (out / "index.html").read_text()
    assert html.count('class="status reference"') >= len(REFERENCE_MODELS)


def test_resume_keeps_the_references(one_model_run):
    out, _ = one_model_run
    result = cli_in_process("run", "--resume", str(out), "--no-progress")
    assert result.returncode == 0, result.stderr
    assert "0 results computed" in result.stdout
    assert json.loads((out / "run.json").read_text())["config"]["references"] == list(REFERENCE_MODELS)


def test_no_references_evaluates_only_what_was_asked(tmp_path):
    result = cli_in_process("run", "--model", "toy_grey", *ARGS, "--no-references", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert set(pd.read_csv(tmp_path / "results.csv")["model"]) == {"toy_grey"}
