"""Model options: one that no model of the run reads is refused before any work."""

from __future__ import annotations

import pytest
from conftest import cli_in_process

from inpaintbench import InpaintbenchError, Model
from inpaintbench.options import check_options


class Reads(Model):
    name = "reads"
    options = {"kernel": "blur window", "checkpoint": "weights"}


class Plain(Model):
    name = "plain"


def test_an_option_is_accepted_when_any_model_of_the_run_reads_it() -> None:
    check_options({"kernel": "5"}, [Plain(), Reads()])
    check_options({}, [Plain()])


@pytest.mark.parametrize(
    ("options", "models", "message"),
    [
        ({"kernal": "5"}, [Reads(), Plain()], r"'kernal' .* \(reads, plain\); they read: checkpoint, kernel"),
        ({"steps": "3"}, [Plain()], r"'steps' .* \(plain\); they take no options$"),
    ],
)
def test_an_option_no_model_reads_is_named_with_what_they_read(options, models, message) -> None:
    with pytest.raises(InpaintbenchError, match=message):
        check_options(options, models)


def test_the_cli_refuses_a_misspelt_option_before_writing_anything(tmp_path) -> None:
    out = tmp_path / "run"
    args = ("run", "--model", "mean_fill", "--minutes", "2", "--out", str(out), "--no-progress")
    result = cli_in_process(
        *args, plugins="context_encoder"
    )  # --minutes: a flag the Context Encoder declares
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: option 'minutes' is not read by any model of this run (mean_fill); they take no options"
    ]
    assert not out.exists()
    without = cli_in_process(*args, plugins="")  # no plugin declares it: the parser does not know it
    assert without.returncode == 2 and "unrecognized arguments: --minutes 2" in without.stderr
    assert not out.exists()
    train = cli_in_process("train", "--model", "mean_fill", "--option", "x=1")
    assert train.returncode == 2 and "option 'x' is not read" in train.stderr
