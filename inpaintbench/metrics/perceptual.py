"""LPIPS (Zhang et al. 2018, v0.1) through the ``lpips`` package: ``lpips`` is AlexNet, ``lpips:vgg`` VGG16.

The network is built with the package's calibrated linear layers (``pretrained=True``) and a randomly
initialised trunk (``pnet_rand=True``, so torchvision downloads nothing); the verified ImageNet trunk
is then loaded here (see ``weights`` for where it is looked up). Inputs are mapped from [0, 1]
to [-1, 1], the range LPIPS expects; lower is better.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, ClassVar

from ..components import Metric
from ..errors import InpaintbenchError
from .lpips_weights import BACKBONES
from .weights import find_weights

if TYPE_CHECKING:
    import torch


def load_backbone(network: Any, state: dict[str, torch.Tensor]) -> None:
    """Copy torchvision's ``features.<i>.<param>`` tensors into lpips' ``slice<k>.<i>.<param>`` layout."""
    mapped = {}
    for key in network.net.state_dict():
        _, index, param = key.split(".")
        mapped[key] = state[f"features.{index}.{param}"]
    network.net.load_state_dict(mapped)


def build_network(net: str, backbone: dict[str, torch.Tensor] | None) -> Any:
    """An ``lpips.LPIPS`` in eval mode; ``backbone=None`` leaves the trunk random (plumbing tests only)."""
    import lpips

    with warnings.catch_warnings():
        # lpips passes torchvision the deprecated ``pretrained=`` argument; the behaviour is as wanted.
        warnings.simplefilter("ignore", UserWarning)
        network = lpips.LPIPS(net=net, pretrained=True, pnet_rand=True, verbose=False)
    if backbone is not None:
        load_backbone(network, backbone)
    return network.eval().requires_grad_(False)


class LPIPS(Metric):
    name = "lpips"
    description = "LPIPS v0.1, AlexNet trunk ('lpips:vgg': VGG16), inputs mapped to [-1,1] (lower is better)"
    higher_is_better: ClassVar[bool] = False
    argument = "the backbone: alex (default) or vgg"

    def __init__(self, arg: str | None = None) -> None:
        super().__init__(arg)
        self.net = arg or "alex"
        if self.net not in BACKBONES:
            choices = ", ".join(BACKBONES)
            raise InpaintbenchError(f"metric 'lpips:{arg}': unknown backbone (choose from {choices})")
        self.network: Any = None

    def setup(self, device: torch.device) -> None:
        import torch

        path = find_weights(BACKBONES[self.net], f"lpips:{self.net}").path
        state = torch.load(path, map_location="cpu", weights_only=True)
        self.network = build_network(self.net, state).to(device)

    def compute(self, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        import torch

        with torch.inference_mode():
            return self.network(pred * 2 - 1, target * 2 - 1).flatten()
