"""Where a command writes and what it is given to name: a folder where a file is due, a device, a FIFO,
a wrong suffix, a name too long, a regime twice, a file size limit. Each is one line and nothing
written, never an unexpected crash line."""

from __future__ import annotations

import errno
import os
import resource
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import cli_env, cli_in_process

from inpaintbench.files.atomic import DiskFull, writing


def _one_line(result, *parts: str, status: int = 2) -> str:
    assert result.returncode == status, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and "unexpected" not in line, line
    assert all(part in line for part in parts), line
    return line


@pytest.mark.parametrize("command", ["export", "freeze"])
def test_a_regime_named_twice_is_refused_as_run_refuses_it(tmp_path, command):
    out = tmp_path / "out"
    result = cli_in_process(command, "--dataset", "samples", "--masks", "center,center", "--image-size", "32",
                            "--limit", "1", "--out", str(out))  # fmt: skip
    _one_line(result, "--masks names 'center' twice")
    assert not out.exists()


def _device() -> Path:
    """/dev/null, or /dev/zero where something on a shared machine has replaced /dev/null by a file."""
    for path in (Path(os.devnull), Path("/dev/zero")):
        if stat.S_ISCHR(path.stat().st_mode):
            return path
    pytest.skip("no character device at /dev/null or /dev/zero")


def _preview(out: str | Path, regimes: str = "center"):
    return cli_in_process("masks", "preview", regimes, "-n", "2", "--image-size", "32", "-o", str(out))


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("folder", "is a folder"),
        ("fifo.png", "is not a regular file"),
        ("DEVICE", "is not a regular file"),
        ("m.txt", "give a file name ending in .png"),
    ],
)
def test_masks_preview_o_must_name_a_png_file(tmp_path, target, expected):
    (tmp_path / "folder").mkdir()
    os.mkfifo(tmp_path / "fifo.png")
    out = _device() if target == "DEVICE" else tmp_path / target
    _one_line(_preview(out), expected)
    assert sorted(os.listdir(tmp_path)) == ["fifo.png", "folder"] and not os.listdir(tmp_path / "folder")


def test_masks_preview_replaces_its_file_instead_of_writing_through_it(tmp_path):
    """Written to a temporary file and renamed: a link at ``-o`` is replaced, its target left alone."""
    victim = tmp_path / "victim.png"
    victim.write_bytes(b"the user's picture")
    (tmp_path / "grid.png").symlink_to(victim)
    assert _preview(tmp_path / "grid.png").returncode == 0
    assert victim.read_bytes() == b"the user's picture" and not (tmp_path / "grid.png").is_symlink()
    assert sorted(os.listdir(tmp_path)) == ["grid.png", "victim.png"]


@pytest.mark.parametrize("regimes", ["", ","])
def test_masks_preview_of_no_regime_is_one_line(tmp_path, regimes):
    _one_line(_preview(tmp_path / "grid.png", regimes), "masks preview names nothing")
    assert not os.listdir(tmp_path)


def test_a_plugin_name_too_long_for_a_folder_is_one_line(tmp_path):
    _one_line(cli_in_process("new", "plugin", "a" * 300, cwd=tmp_path), "300 characters long")
    assert not os.listdir(tmp_path)


@pytest.mark.parametrize("out", ["file", "/dev/zero"])
def test_train_out_must_be_a_folder(tmp_path, out):
    target = tmp_path / "file" if out == "file" else Path(out)
    (tmp_path / "file").write_text("keep")
    result = cli_in_process("train", "--model", "mean_fill", "--out", str(target))
    _one_line(result, f"--out {target} is not a folder")
    assert (tmp_path / "file").read_text() == "keep"


def test_efbig_is_a_full_disk():
    """The file size limit (``ulimit -f``) is the user's to lift, as a full disk is theirs to free."""
    with pytest.raises(DiskFull, match="file size limit .* to write x.png"), writing(Path("x.png")):
        raise OSError(errno.EFBIG, os.strerror(errno.EFBIG))


@pytest.mark.slow
def test_a_file_size_limit_while_a_run_writes_is_one_line(tmp_path):
    """A process of its own: the limit holds for the whole process, and SQLite meets it too."""
    out = tmp_path / "run"
    limit = 64 * 1024  # the store outgrows it at once

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))

    result = subprocess.run(
        [sys.executable, "-m", "inpaintbench.cli", "run", "--model", "mean_fill", "--masks", "center",
         "--metrics", "psnr", "--limit", "3", "--image-size", "64", "--no-progress", "--out", str(out)],
        capture_output=True, text=True, env=cli_env(), preexec_fn=limited, timeout=300,
    )  # fmt: skip
    _one_line(result, "no room under the file size limit (ulimit -f) to write", str(out), status=1)
