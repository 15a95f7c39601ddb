"""Finding and verifying the ImageNet backbone LPIPS needs, without ever downloading it.

The lpips package ships only its small linear layers; the AlexNet / VGG16 trunks are torchvision's
ImageNet checkpoints. They are looked up, in this order:

1. ``$INPAINTBENCH_LPIPS_BACKBONE``: the checkpoint file itself, or a folder holding it under its
   torchvision name;
2. the torch hub cache, ``torch.hub.get_dir()/checkpoints/<torchvision name>`` (``$TORCH_HOME/hub``,
   by default ``~/.cache/torch/hub``), where torchvision itself would have saved it.

torch does not check a cached file's hash on load, so the full sha256 is verified here; a missing or
altered file makes the metric unavailable with one line saying what to fetch and where to put it.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from ..components import MetricUnavailable

ENV_VAR = "INPAINTBENCH_LPIPS_BACKBONE"
DOWNLOAD_BASE = "https://download.pytorch.org/models/"


@dataclass(frozen=True)
class Backbone:
    """One torchvision checkpoint; its file name embeds the first 8 hex digits of its sha256."""

    net: str
    filename: str
    sha256: str

    @property
    def url(self) -> str:
        return DOWNLOAD_BASE + self.filename


BACKBONES = {
    "alex": Backbone(
        "alex", "alexnet-owt-7be5be79.pth", "7be5be791159472b1fbf3c69796f7cb30dca7ad8466c2df70058c37116cdee02"
    ),
    "vgg": Backbone(
        "vgg", "vgg16-397923af.pth", "397923af8e79cdbb6a7127f12361acd7a2f83e06b05044ddf496e83de57a5bf0"
    ),
}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def candidate_path(backbone: Backbone) -> Path:
    """Where the checkpoint should be: the environment variable's path, else the torch hub cache."""
    override = os.environ.get(ENV_VAR)
    if override:
        path = Path(override).expanduser()
        return path / backbone.filename if path.is_dir() else path
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints" / backbone.filename


def verified_backbone(backbone: Backbone) -> Path:
    """The checkpoint's path once its sha256 matches; otherwise MetricUnavailable saying how to fix it."""
    path = candidate_path(backbone)
    if not path.is_file():
        problem = f"not found at {path}"
    else:
        digest = sha256_file(path)
        if digest == backbone.sha256:
            return path
        problem = f"{path} has sha256 {digest[:16]}..., expected {backbone.sha256[:16]}..."
    raise MetricUnavailable(
        f"lpips:{backbone.net} needs torchvision's ImageNet weights {backbone.filename} ({problem}); "
        f"download {backbone.url} on a machine with internet and save it as {path} "
        f"(or point {ENV_VAR} at the file)"
    )
