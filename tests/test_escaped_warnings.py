"""Warnings name files, and a file's name is anyone's to choose: escaped, it cannot colour or clear the
terminal, nor begin a line of its own such as a forged ``error:`` line."""

from __future__ import annotations

import os

import numpy as np
from conftest import cli_in_process
from PIL import Image

#: A name that, printed raw, clears the screen and starts a line that reads as inpaintbench's own error.
HOSTILE = "bad\x1b[2J\nerror: all results were deleted.png"


def _only_escaped(stderr: str) -> None:
    assert "\x1b" not in stderr and "\\x1b[2J\\nerror: all results" in stderr, stderr
    assert not [line for line in stderr.splitlines() if line.startswith("error: all results")]


def _image(path) -> None:
    Image.fromarray(np.full((32, 32, 3), 200, np.uint8)).save(path)


def test_a_skipped_dataset_file_is_warned_about_escaped(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    _image(data / "ok.png")
    (data / HOSTILE).write_bytes(b"not an image")
    result = cli_in_process("run", "--model", "mean_fill", "--dataset", f"folder:{data}", "--masks", "center",
                            "--metrics", "psnr", "--image-size", "32", "--no-progress", "--no-images",
                            "--out", str(tmp_path / "run"))  # fmt: skip
    assert result.returncode == 0, result.stderr
    _only_escaped(result.stderr)


def test_a_skipped_mask_file_is_warned_about_escaped(tmp_path):
    masks = tmp_path / "masks"
    masks.mkdir()
    _image(masks / "ok.png")
    os.mkfifo(masks / HOSTILE)  # not a regular file: skipped, with a warning naming it
    result = cli_in_process("masks", "stats", f"folder:{masks}", "--n", "2", "--image-size", "32")
    assert result.returncode == 0, result.stderr
    _only_escaped(result.stderr)
