"""Two real processes training one cached network at once (two runs started together on a cold cache).

Without a lock each save's clean-up deleted the other's files: a temporary file about to be renamed (a
FileNotFoundError crash) or weights its pointer names (a checkpoint missing its weights). With the lock
per cache entry the second process waits, then reuses what the first trained.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

#: Train a tiny centre network for a wall-clock budget into DIR, then load it: a budget, so the two
#: processes would stop at different steps and name different files. Each starts once both are ready.
WORKER = """
import sys, time
from pathlib import Path
import numpy as np, torch
from inpaintbench_context_encoder.checkpoint import load_generator
from inpaintbench_context_encoder.config import TrainConfig
from inpaintbench_context_encoder.data import TrainingImages
from inpaintbench_context_encoder.trainer import train
rng = np.random.default_rng(0)
data = TrainingImages([rng.integers(0, 256, (140, 140, 3), dtype=np.uint8) for _ in range(3)], "fp")
cfg = TrainConfig(bottleneck=8, batch_size=4, steps=None, minutes=0.03, precision="fp32", threads=1)
ready = Path(sys.argv[2])
(ready / sys.argv[3]).touch()
while len(list(ready.iterdir())) < 2:  # both imported torch: they start training together
    time.sleep(0.01)
ckpt = train(cfg, data, Path(sys.argv[1]), torch.device("cpu"), log=print, progress=False, masks=None)
load_generator(ckpt, torch.device("cpu"))
print("loaded step", ckpt.step, ckpt.meta["weights_sha256"])
"""


def test_two_processes_training_one_entry_both_end_with_the_same_usable_weights(tmp_path: Path) -> None:
    directory, ready = tmp_path / "context_encoder-center-key", tmp_path / "ready"
    ready.mkdir()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(directory), str(ready), str(i)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        for i in range(2)
    ]
    outputs = [proc.communicate(timeout=300)[0] for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], outputs
    loaded = [out.strip().splitlines()[-1] for out in outputs]
    assert loaded[0] == loaded[1] and loaded[0].startswith("loaded step"), outputs
    assert any("waiting for another process building" in out for out in outputs), outputs
    assert len(list(directory.glob("weights-*.safetensors"))) == 1
