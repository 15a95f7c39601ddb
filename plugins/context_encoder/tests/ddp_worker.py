"""``inpaintbench train`` as ``test_distributed.py`` runs it, alone or under torchrun, with a record.

    python -m torch.distributed.run --standalone --nproc-per-node 2 ddp_worker.py REPORT_DIR -- TRAIN_ARGS

Runs the real command (``inpaintbench.cli.main(["train", *TRAIN_ARGS])``) after wrapping two plugin
functions so that each rank writes ``REPORT_DIR/rank-R.json``: per training step the sha256 of every
sample of the rank's batch and of all weights and buffers after the step, and the steps at which this
rank called ``save_checkpoint``, and the checkpoint ``trainer.train`` returned on it. Nothing in
training is replaced: the wrappers only read.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path


def digest(tensors) -> str:
    sha = hashlib.sha256()
    for t in tensors:
        sha.update(t.detach().cpu().contiguous().numpy().tobytes())
    return sha.hexdigest()


def main() -> int:
    import torch
    from inpaintbench_context_encoder import trainer
    from inpaintbench_context_encoder.step import TrainStep

    from inpaintbench.cli import main as cli

    report_dir, argv = Path(sys.argv[1]), sys.argv[sys.argv.index("--") + 1 :]
    torch.set_num_threads(1)
    record: dict = {"rank": int(os.environ.get("RANK", "0")), "steps": [], "saves": []}
    step_call, save, train = TrainStep.__call__, trainer.save_checkpoint, trainer.train

    def recorded_step(self, real, hole=None):
        losses = step_call(self, real, hole)
        state = [*self.gen.state_dict().values(), *self.disc.state_dict().values()]
        samples = [digest([x]) for x in real]
        record["steps"].append({"samples": samples, "weights": digest(state)})
        return losses

    def recorded_save(directory, step, meta):
        record["saves"].append(meta["step"])
        return save(directory, step, meta)

    def recorded_train(*args, **kwargs):
        ckpt = train(*args, **kwargs)
        record["checkpoint"] = {"step": ckpt.step, "sha256": ckpt.meta["weights_sha256"]}
        return ckpt

    TrainStep.__call__ = recorded_step
    trainer.save_checkpoint = recorded_save
    trainer.train = recorded_train
    status = cli(["train", *argv])
    record["status"] = status
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / f"rank-{record['rank']}.json").write_text(json.dumps(record))
    return status


if __name__ == "__main__":
    sys.exit(main())
