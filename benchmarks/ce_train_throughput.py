"""Context Encoder training throughput: the plugin's trainer step against a plain PyTorch loop.

Both run the paper architecture (4000-unit code, batch 64, 128 x 128 crops, centre mode) from the
same initial weights on the same batch, in this process, interleaved round by round so that load
from other processes hits both alike. The plain loop is what the PyTorch ports write: standard
layers, fp32, foreach Adam, one D step (real, then detached fake) and a G step that runs D on the
fake batch a second time. Also measured in the same run: large fp32 and bf16 matmuls, and the
achieved FLOP rate of each step (its matmul/convolution FLOPs, counted by torch.utils.flop_counter).
Timings on a shared machine are noisy: both the median and the best of the interleaved rounds are
reported. The trainer's glibc allocator setting (``hardware.keep_freed_memory``) is process-wide,
so with ``--allocator tuned`` (default) the plain loop gets it too; ``--allocator default`` runs both
without it, which is how the plain loop runs on its own.

    python benchmarks/ce_train_throughput.py [--rounds 4] [--threads N] [--allocator tuned|default]
        [--batch 64] [--bottleneck 4000] [--profile] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F
from inpaintbench_context_encoder.config import TrainConfig
from inpaintbench_context_encoder.hardware import keep_freed_memory
from inpaintbench_context_encoder.networks import standard_layers
from inpaintbench_context_encoder.recipe import centre_input, centre_target, weighted_l2
from inpaintbench_context_encoder.step import TrainStep
from torch.utils.flop_counter import FlopCounterMode


class PlainLoop:
    """The reference: what a straightforward port does each iteration."""

    def __init__(self, fast: TrainStep) -> None:
        cfg = fast.cfg
        self.cfg, self.weights = cfg, fast.l2_weights
        self.gen, self.disc = standard_layers(fast.gen), standard_layers(fast.disc)
        self.opt_g = torch.optim.Adam(self.gen.parameters(), lr=cfg.lr_g, betas=(cfg.beta1, 0.999))
        self.opt_d = torch.optim.Adam(self.disc.parameters(), lr=cfg.lr_d, betas=(cfg.beta1, 0.999))

    def __call__(self, real: torch.Tensor) -> dict[str, torch.Tensor]:
        inp, target = centre_input(real, self.cfg.overlap), centre_target(real)
        fake = self.gen(inp)
        self.opt_d.zero_grad()
        d_real, d_fake = self.disc(target), self.disc(fake.detach())
        loss_d = F.binary_cross_entropy_with_logits(
            d_real, torch.ones_like(d_real)
        ) + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake))
        loss_d.backward()
        self.opt_d.step()
        self.opt_g.zero_grad()
        d_out = self.disc(fake)
        adv = F.binary_cross_entropy_with_logits(d_out, torch.ones_like(d_out))
        l2 = weighted_l2(fake, target, self.weights)
        loss_g = self.cfg.wtl2 * l2 + (1 - self.cfg.wtl2) * adv
        loss_g.backward()
        self.opt_g.step()
        return {"d": loss_d.detach(), "g_adv": adv.detach(), "g_l2": l2.detach(), "g": loss_g.detach()}


def matmul_gflops(dtype: torch.dtype, size: int, seconds: float = 2.0) -> float:
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    a @ b
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        n += 1
    return 2 * size**3 * n / (time.perf_counter() - start) / 1e9


def timed(step, real: torch.Tensor) -> tuple[float, dict[str, float]]:
    start = time.perf_counter()
    losses = step(real)
    return time.perf_counter() - start, {k: float(v) for k, v in losses.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4, help="timed steps of each, interleaved")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--bottleneck", type=int, default=4000)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument(
        "--allocator",
        choices=("tuned", "default"),
        default="tuned",
        help="tuned: the trainer's glibc setting (process-wide, so the plain loop gets it too)",
    )
    parser.add_argument("--profile", action="store_true", help="print torch.profiler tables of both steps")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device("cpu")
    allocator_tuned = args.allocator == "tuned" and keep_freed_memory()
    cfg = TrainConfig(bottleneck=args.bottleneck, batch_size=args.batch, precision="auto")
    fast = TrainStep(cfg, device)
    plain = PlainLoop(fast)  # same initial weights
    real = torch.rand(args.batch, 3, 128, 128, generator=torch.Generator().manual_seed(1)) * 2 - 1

    flops, first = {}, {}
    for name, step in (("plain", plain), ("trainer", fast)):
        with FlopCounterMode(display=False) as counter:
            first[name] = timed(step, real)[1]
        flops[name] = counter.get_total_flops()

    times: dict[str, list[float]] = {"plain": [], "trainer": []}
    for _ in range(args.rounds):
        times["plain"].append(timed(plain, real)[0])
        times["trainer"].append(timed(fast, real)[0])
    med = {k: statistics.median(v) for k, v in times.items()}
    best = {k: min(v) for k, v in times.items()}

    if args.profile:
        from torch.profiler import ProfilerActivity, profile

        for name, step in (("plain", plain), ("trainer", fast)):
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                step(real)
            print(f"--- {name} step profile")
            print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))

    mm_fp32 = matmul_gflops(torch.float32, 2048)
    mm_bf16 = matmul_gflops(torch.bfloat16, 512)
    out = {
        "device": str(device),
        "threads": torch.get_num_threads(),
        "batch": args.batch,
        "bottleneck": args.bottleneck,
        "trainer_precision": fast.precision,
        "allocator_tuned_for_both": allocator_tuned,
        "gflop_per_step": {k: v / 1e9 for k, v in flops.items()},
        "seconds_per_step_median": med,
        "images_per_s_median": {k: args.batch / v for k, v in med.items()},
        "images_per_s_best": {k: args.batch / v for k, v in best.items()},
        "speedup_median": med["plain"] / med["trainer"],
        "speedup_best": best["plain"] / best["trainer"],
        "achieved_gflops_median": {k: flops[k] / v / 1e9 for k, v in med.items()},
        "achieved_gflops_best": {k: flops[k] / v / 1e9 for k, v in best.items()},
        "matmul_gflops": {"fp32_2048": mm_fp32, "bf16_512": mm_bf16},
        "first_step_losses": first,
        "all_step_seconds": times,
    }
    print(json.dumps(out, indent=2))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2)


if __name__ == "__main__":
    main()
