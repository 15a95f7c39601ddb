"""The ImageNet backbones LPIPS needs, looked up and verified by ``weights`` (never downloaded).

The lpips package ships only its small linear layers; the AlexNet / VGG16 trunks are torchvision's
ImageNet checkpoints, found through ``$INPAINTBENCH_LPIPS_BACKBONE`` or the torch hub cache.
"""

from __future__ import annotations

from .weights import WeightsFile

ENV_VAR = "INPAINTBENCH_LPIPS_BACKBONE"
DOWNLOAD_BASE = "https://download.pytorch.org/models/"


def _torchvision(filename: str, sha256: str) -> WeightsFile:
    """A torchvision checkpoint; its file name embeds the first 8 hex digits of its sha256."""
    return WeightsFile("torchvision's ImageNet weights", filename, sha256, DOWNLOAD_BASE + filename, ENV_VAR)


BACKBONES = {
    "alex": _torchvision(
        "alexnet-owt-7be5be79.pth", "7be5be791159472b1fbf3c69796f7cb30dca7ad8466c2df70058c37116cdee02"
    ),
    "vgg": _torchvision(
        "vgg16-397923af.pth", "397923af8e79cdbb6a7127f12361acd7a2f83e06b05044ddf496e83de57a5bf0"
    ),
}
