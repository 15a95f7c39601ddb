"""The Context Encoder networks of the released Lua code (train.lua, train_random.lua).

Convolutions are bias-free when trained here: the Lua code zeroes every convolution bias before each
step, so its biases hold only the last step's update. The released Torch7 files keep those, so a
generator loaded from one (``released``) is built with ``bias=True``. Initialisation is DCGAN's
(``init_dcgan``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: Channels of the encoder (nef = 64) and decoder (ngf = 64) stages, as in the Lua scripts.
ENCODER = (64, 64, 128, 256, 512)
DECODER = (512, 256, 128, 64)


def down(cin: int, cout: int, bn: bool = True, bias: bool = False) -> list[nn.Module]:
    """4x4 stride-2 convolution halving the side, then BN (unless first) and LeakyReLU 0.2."""
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, 4, 2, 1, bias=bias)]
    if bn:
        layers.append(nn.BatchNorm2d(cout))
    layers.append(nn.LeakyReLU(0.2, inplace=True))
    return layers


def up(cin: int, cout: int, bias: bool = False) -> list[nn.Module]:
    """4x4 stride-2 transposed convolution doubling the side, then BN and ReLU."""
    return [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=bias), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class CodeConv(nn.Conv2d):
    """The 4x4 valid convolution from the 4 x 4 map to the 1 x 1 code: a fully connected layer, run as
    one matmul. oneDNN's convolution path took 6-10x longer for this shape on the CPU (profiled).
    Parameters are those of the plain ``nn.Conv2d``, so checkpoints are interchangeable."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x.flatten(1), self.weight.flatten(1), self.bias)[:, :, None, None]


class CodeDeconv(nn.ConvTranspose2d):
    """The 4x4 transposed convolution from the 1 x 1 code back to a 4 x 4 map, run as one matmul."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = (x.flatten(1) @ self.weight.flatten(1)).view(x.shape[0], self.out_channels, *self.kernel_size)
        return out if self.bias is None else out + self.bias[:, None, None]


class ChannelwiseFC(nn.Module):
    """The paper's channel-wise fully connected layer: each channel's n x n map goes through its own
    (n^2 x n^2) linear map, with no connection across channels (m n^4 instead of m^2 n^4 weights)."""

    def __init__(self, channels: int, side: int) -> None:
        super().__init__()
        self.side = side
        self.weight = nn.Parameter(torch.empty(channels, side * side, side * side))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        flat = x.reshape(n, c, h * w).transpose(0, 1)  # C x N x HW
        return torch.bmm(flat, self.weight).transpose(0, 1).reshape(n, c, h, w)


def bottleneck_layers(bottleneck: int | str, bias: bool = False) -> list[nn.Module]:
    """512 x 4 x 4 features to the decoder's 512 x 4 x 4 input.

    ``bottleneck`` an int: the released full bottleneck, a 4x4 valid conv to an N x 1 x 1 code (BN +
    LeakyReLU) and a 4x4 transposed conv back (BN + ReLU). ``"channelwise"``: the paper's channel-wise
    FC followed by a stride-1 1x1 convolution that mixes channels (Fig. 9b), each with BN + ReLU.
    """
    c = ENCODER[-1]
    if bottleneck == "channelwise":
        return [
            ChannelwiseFC(c, 4),
            nn.BatchNorm2d(c),
            nn.ReLU(inplace=True),
            nn.Conv2d(c, c, 1, bias=bias),
            nn.BatchNorm2d(c),
            nn.ReLU(inplace=True),
        ]
    n = int(bottleneck)
    return [
        CodeConv(c, n, 4, bias=bias),
        nn.BatchNorm2d(n),
        nn.LeakyReLU(0.2, inplace=True),
        CodeDeconv(n, DECODER[0], 4, bias=bias),
        nn.BatchNorm2d(DECODER[0]),
        nn.ReLU(inplace=True),
    ]


class Generator(nn.Sequential):
    """128 x 128 context in; ``out_size`` 64 (the centre, train.lua) or 128 (the whole image,
    train_random.lua with fineSize 128, which adds one 64->64 up-stage) out, in [-1, 1]. ``bias``: every
    convolution has a bias (as the released Torch7 files do)."""

    def __init__(self, out_size: int = 64, bottleneck: int | str = 4000, bias: bool = False) -> None:
        if out_size not in (64, 128):
            raise ValueError(f"out_size must be 64 or 128, not {out_size}")
        layers = down(3, ENCODER[0], bn=False, bias=bias)
        for cin, cout in zip(ENCODER, ENCODER[1:], strict=False):
            layers += down(cin, cout, bias=bias)
        layers += bottleneck_layers(bottleneck, bias)
        for cin, cout in zip(DECODER, DECODER[1:], strict=False):
            layers += up(cin, cout, bias)
        if out_size == 128:
            layers += up(DECODER[-1], DECODER[-1], bias)
        layers += [nn.ConvTranspose2d(DECODER[-1], 3, 4, 2, 1, bias=bias), nn.Tanh()]
        super().__init__(*layers)
        self.out_size = out_size


def trunk(in_size: int) -> list[nn.Module]:
    """The plain discriminator from a 64 x 64 x 64 map (after its first layer) to one logit."""
    layers: list[nn.Module] = []
    if in_size == 128:
        layers += down(64, 64)
    for cin, cout in ((64, 128), (128, 256), (256, 512)):
        layers += down(cin, cout)
    return [*layers, nn.Conv2d(512, 1, 4, bias=False), nn.Flatten()]


class Discriminator(nn.Sequential):
    """DCGAN discriminator on a 64 x 64 centre (train.lua) or a 128 x 128 image (train_random.lua).

    Returns logits (N x 1); the Lua Sigmoid + BCE pair is applied as ``binary_cross_entropy_with_logits``,
    which is the same function, computed stably.
    """

    def __init__(self, in_size: int = 64) -> None:
        if in_size not in (64, 128):
            raise ValueError(f"in_size must be 64 or 128, not {in_size}")
        super().__init__(*down(3, 64, bn=False), *trunk(in_size))

    def forward(self, pred: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        return super().forward(pred)


class ConditionalDiscriminator(nn.Module):
    """train.lua's ``conditionAdv``: the 128 x 128 context and the 64 x 64 prediction go through their
    own 5x5 stride-2 convolutions (the prediction padded by 34 so it lands at the centre of a 128
    canvas), are concatenated, and continue through a 128->64 down-stage and the plain trunk."""

    def __init__(self) -> None:
        super().__init__()
        self.context = nn.Conv2d(3, 64, 5, 2, 2, bias=False)
        self.pred = nn.Conv2d(3, 64, 5, 2, 2 + 32, bias=False)
        self.body = nn.Sequential(nn.LeakyReLU(0.2, inplace=True), *down(128, 64), *trunk(64))

    def forward(self, pred: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        if context is None:
            raise ValueError("the conditional discriminator needs the context image")
        return self.body(torch.cat([self.context(context), self.pred(pred)], dim=1))


def to_channels_last(net: nn.Module) -> nn.Module:
    """``net`` in channels_last (the layout CUDA's tensor-core convolutions want), except the code
    layers' weights: those run as matmuls and get contiguous gradients, and fused Adam needs each
    parameter and its gradient laid out alike."""
    net.to(memory_format=torch.channels_last)
    for module in net.modules():
        if isinstance(module, CodeConv | CodeDeconv):
            module.weight.data = module.weight.data.contiguous()
    return net


def standard_layers(net: nn.Module) -> nn.Module:
    """A copy of ``net`` whose matmul code layers are plain ``nn.Conv2d``/``nn.ConvTranspose2d`` again:
    the reference a straightforward port would run (same parameters, so the outputs must agree)."""
    import copy

    net = copy.deepcopy(net)
    for module in net.modules():
        if type(module) is CodeConv:
            module.__class__ = nn.Conv2d
        elif type(module) is CodeDeconv:
            module.__class__ = nn.ConvTranspose2d
    return net


def init_dcgan(module: nn.Module) -> None:
    """DCGAN initialisation: conv weights N(0, 0.02); BN gamma N(1, 0.02), beta 0."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | ChannelwiseFC):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
