"""One training iteration of the released recipe, arranged to do as little work as possible.

Per iteration, as train.lua: the generator runs once; the discriminator sees the real batch, then
the fake batch; its fake-batch output is reused for the generator's adversarial term instead of a
second forward pass (the Lua code does the same). The two backward passes are taken before either
optimiser steps, so the generator's adversarial gradient is that of the discriminator before this
iteration's update (train.lua backpropagates the stale forward activations through the already
updated weights; both are one-step approximations of the same thing).

Speed (profiled on a 2-core AVX2 CPU, see the README): the 4000-unit code layers run as matmuls
(``networks.CodeConv``), Adam is the fused kernel, the discriminator's weight gradients are not
computed for the generator's backward pass, and autocast to bfloat16 is used where the hardware
has fast bfloat16 (CUDA, or CPUs with AMX tiles; elsewhere it is far slower than fp32). The CPU
allocator setting that removes per-step page faults is the trainer's (``hardware``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from .config import TrainConfig
from .hardware import resolve_precision
from .networks import ConditionalDiscriminator, Discriminator, Generator, init_dcgan, to_channels_last
from .recipe import centre_input, centre_l2_weights, centre_target, random_input, weighted_l2


def make_networks(cfg: TrainConfig) -> tuple[Generator, torch.nn.Module]:
    """The generator and discriminator the configuration trains, DCGAN-initialised."""
    if cfg.mode == "center":
        gen = Generator(64, cfg.bottleneck)
        disc: torch.nn.Module = ConditionalDiscriminator() if cfg.condition_adv else Discriminator(64)
    else:
        gen, disc = Generator(128, cfg.bottleneck), Discriminator(128)
    init_dcgan(gen)
    init_dcgan(disc)
    return gen, disc


class TrainStep:
    """Networks, optimisers and the loss of one configuration; call it with a batch to train once."""

    def __init__(self, cfg: TrainConfig, device: torch.device, channels_last: bool | None = None) -> None:
        """``channels_last`` (default on CUDA and the CPU): tensor-core convolutions want it on CUDA; on
        the CPU, oneDNN computes input gradients in its own layout and an NCHW tensor costs a reorder
        copy per layer (~6% of a step, profiled), which channels_last avoids."""
        self.cfg = cfg
        self.device = device
        self.precision = resolve_precision(cfg.precision, device)
        self.channels_last = device.type in ("cuda", "cpu") if channels_last is None else channels_last
        gen, disc = make_networks(cfg)
        self.gen, self.disc = gen.to(device), disc.to(device)
        if self.channels_last:
            to_channels_last(self.gen)
            to_channels_last(self.disc)
        fused = device.type in ("cuda", "cpu")
        betas = (cfg.beta1, 0.999)
        self.opt_g = torch.optim.Adam(self.gen.parameters(), lr=cfg.lr_g, betas=betas, fused=fused)
        self.opt_d = torch.optim.Adam(self.disc.parameters(), lr=cfg.lr_d, betas=betas, fused=fused)
        self.l2_weights = (
            centre_l2_weights(cfg.overlap, cfg.overlap_weight, device) if cfg.mode == "center" else None
        )
        #: Several processes (``distributed.Ranks.average_``): called with both networks' gradients, their
        #: float buffers (batch norm statistics) and the losses, which it averages in place over the ranks.
        self.reduce: Callable[[Sequence[torch.Tensor]], None] | None = None

    def state(self) -> list[torch.Tensor]:
        """Both networks' parameters and buffers: what replicas must agree on."""
        nets = (self.gen, self.disc)
        return [t for net in nets for t in (*net.parameters(), *net.buffers())]

    def scale_learning_rates(self, factor: float) -> None:
        """Both learning rates at ``factor`` times the configured ones (their 10:1 ratio kept)."""
        for opt, base in ((self.opt_g, self.cfg.lr_g), (self.opt_d, self.cfg.lr_d)):
            for group in opt.param_groups:
                group["lr"] = base * factor

    def inputs(
        self, real: torch.Tensor, hole: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | float]:
        """(generator input, what it should output, L2 weights) for a real batch in [-1, 1]."""
        if self.cfg.mode == "center":
            return centre_input(real, self.cfg.overlap), centre_target(real), self.l2_weights
        if hole is None:
            raise ValueError("random-region training needs a hole mask")
        return random_input(real, hole), real, 1.0  # README command: useOverlapPred=0, plain L2

    def __call__(self, real: torch.Tensor, hole: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """One D step and one G step; returns the losses (detached) as train.lua reports them."""
        if self.channels_last:
            real = real.contiguous(memory_format=torch.channels_last)
        inp, target, l2_weights = self.inputs(real, hole)
        self.gen.train()
        self.disc.train()
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16"):
            fake = self.gen(inp)
            d_real = self.disc(target, inp).float()
            d_fake = self.disc(fake, inp).float()
        loss_d = F.binary_cross_entropy_with_logits(
            d_real, torch.ones_like(d_real)
        ) + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake))
        adv = F.binary_cross_entropy_with_logits(d_fake, torch.ones_like(d_fake))
        l2 = weighted_l2(fake, target, l2_weights)
        loss_g = self.cfg.wtl2 * l2 + (1 - self.cfg.wtl2) * adv
        d_params = list(self.disc.parameters())
        g_params = list(self.gen.parameters())
        grads_d = torch.autograd.grad(loss_d, d_params, retain_graph=True)
        grads_g = torch.autograd.grad(loss_g, g_params)
        losses = torch.stack([loss_d, adv, l2, loss_g]).detach()
        if self.reduce is not None:
            buffers = [b for net in (self.gen, self.disc) for b in net.buffers() if b.is_floating_point()]
            self.reduce([*grads_d, *grads_g, *buffers, losses])
        for params, grads in ((d_params, grads_d), (g_params, grads_g)):
            for p, g in zip(params, grads, strict=True):
                p.grad = g
        self.opt_d.step()
        self.opt_g.step()
        return dict(zip(("d", "g_adv", "g_l2", "g"), losses.unbind(), strict=True))
