"""What a training run leaves besides checkpoints: a CSV of losses and preview grids."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import torch
from PIL import Image

COLUMNS = ("step", "elapsed_s", "images_per_s", "d", "g_adv", "g_l2", "g")


class LossLog:
    """``losses.csv``, one row per logging interval. Opening it for a run resumed at ``step`` drops
    rows past that step (written after the checkpoint the run resumes from)."""

    def __init__(self, path: Path, step: int) -> None:
        self.path = path
        rows = []
        if path.is_file() and step > 0:
            with open(path, newline="") as fh:
                rows = [r for r in csv.DictReader(fh) if int(r["step"]) <= step]
        with open(path, "w", newline="") as fh:
            writer = csv.DictWriter(fh, COLUMNS)
            writer.writeheader()
            writer.writerows(rows)

    def write(self, step: int, values: dict[str, float]) -> None:
        with open(self.path, "a", newline="") as fh:
            row = {"step": step, **{k: f"{values[k]:.6g}" for k in COLUMNS[1:]}}
            csv.DictWriter(fh, COLUMNS).writerow(row)


def save_grid(path: Path, rows: list[torch.Tensor]) -> None:
    """A PNG with one column per image and one row per tensor (each N x 3 x H x W in [0, 1])."""
    grid = torch.cat([torch.cat(list(r.detach().float().cpu().clamp(0, 1)), dim=2) for r in rows], dim=1)
    pixels = (grid.permute(1, 2, 0).numpy() * 255.0 + 0.5).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
