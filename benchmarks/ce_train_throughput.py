"""Context Encoder training throughput: the plugin's trainer step against a plain PyTorch loop.

Both run the paper architecture (4000-unit code, batch 64, 128 x 128 crops, centre mode) from the
same initial weights on the same batch, in this process, interleaved round by round so that load
from other processes hits both alike. The plain loop is what the PyTorch ports write: standard
layers, fp32, foreach Adam, one D step (real, then detached fake) and a G step that runs D on the
fake batch a second time. Also measured in the same run: large fp32 and bf16 matmuls, and the
achieved FLOP rate of each step (its matmul/convolution FLOPs, counted by torch.utils.flop_counter).
Timings on a shared machine are noisy: both the median and the best of the interleaved rounds are
reported. With ``--device cuda`` the trainer runs twice, in fp32 and with bf16 autocast (its CUDA
default), against the same plain fp32 loop; a round there is ``--steps-per-round`` steps between
synchronisations, and the large matmuls are 8192 a side. On the CPU the trainer's glibc allocator
setting (``hardware.keep_freed_memory``) is process-wide, so with ``--allocator tuned`` (default)
the plain loop gets it too; ``--allocator default`` runs both without it, which is how the plain
loop runs on its own.

    python benchmarks/ce_train_throughput.py [--rounds 4] [--threads N] [--allocator tuned|default]
        [--batch 64] [--bottleneck 4000] [--device cpu|cuda] [--steps-per-round N] [--profile] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import replace

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
        plain = torch.contiguous_format
        self.gen = standard_layers(fast.gen).to(memory_format=plain)
        self.disc = standard_layers(fast.disc).to(memory_format=plain)
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


FIRST_STEPS = 5  #: steps whose losses are compared between the trainer and its fp32 reference


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_gflops(dtype: torch.dtype, size: int, device: torch.device, seconds: float = 2.0) -> float:
    a = torch.randn(size, size, dtype=dtype, device=device)
    b = torch.randn(size, size, dtype=dtype, device=device)
    a @ b
    sync(device)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        n += 1
        if n % 8 == 0:
            sync(device)
    sync(device)
    return 2 * size**3 * n / (time.perf_counter() - start) / 1e9


def timed(step, real: torch.Tensor, steps: int = 1) -> tuple[float, dict[str, float]]:
    """Seconds per step over ``steps`` steps (synchronised at both ends), and the last losses."""
    sync(real.device)
    start = time.perf_counter()
    for _ in range(steps):
        losses = step(real)
    sync(real.device)
    return (time.perf_counter() - start) / steps, {k: float(v) for k, v in losses.items()}


def trainer(cfg: TrainConfig, device: torch.device) -> TrainStep:
    torch.manual_seed(0)  # every variant starts from the same weights
    return TrainStep(cfg, device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4, help="timed steps of each, interleaved")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--bottleneck", type=int, default=4000)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--steps-per-round", type=int, help="steps per timing (default 1 on CPU, 20 on CUDA)")
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
    device = torch.device(args.device)
    per_round = args.steps_per_round or (20 if device.type == "cuda" else 1)
    allocator_tuned = device.type == "cpu" and args.allocator == "tuned" and keep_freed_memory()
    cfg = TrainConfig(bottleneck=args.bottleneck, batch_size=args.batch, precision="auto")
    steps = {"trainer": trainer(cfg, device)}
    steps["plain"] = PlainLoop(steps["trainer"])  # same initial weights
    if device.type == "cuda":
        steps["trainer_fp32"] = trainer(replace(cfg, precision="fp32"), device)
    gen = torch.Generator(device=device).manual_seed(1)
    real = torch.rand(args.batch, 3, 128, 128, generator=gen, device=device) * 2 - 1

    flops, first = {}, {}
    for name, step in steps.items():
        with FlopCounterMode(display=False) as counter:
            first[name] = [timed(step, real)[1]]
        flops[name] = counter.get_total_flops()
        first[name] += [timed(step, real)[1] for _ in range(FIRST_STEPS - 1)]
        timed(step, real, per_round)  # warm-up (CUDA: kernel selection)
    # The trainer's numerics against an fp32 run of the same start: its own fp32 twin on CUDA, the
    # plain loop on the CPU (same fp32 maths; its G step sees D after D's update, so losses drift apart
    # slowly by design).
    ref = "trainer_fp32" if "trainer_fp32" in steps else "plain"
    drift = {
        key: max(abs(a[key] / b[key] - 1) for a, b in zip(first["trainer"], first[ref], strict=True))
        for key in ("g_l2", "d")
    }

    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(args.rounds):
        for name, step in steps.items():
            times[name].append(timed(step, real, per_round)[0])
    med = {k: statistics.median(v) for k, v in times.items()}
    best = {k: min(v) for k, v in times.items()}

    if args.profile:
        from torch.profiler import ProfilerActivity, profile

        activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
        for name, step in steps.items():
            with profile(activities=activities) as prof:
                timed(step, real)
            print(f"--- {name} step profile")
            sort = "self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total"
            print(prof.key_averages().table(sort_by=sort, row_limit=12))

    big = 8192 if device.type == "cuda" else 2048
    mm_fp32 = matmul_gflops(torch.float32, big, device)
    mm_bf16 = matmul_gflops(torch.bfloat16, big if device.type == "cuda" else 512, device)
    out = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else str(device),
        "threads": torch.get_num_threads(),
        "batch": args.batch,
        "bottleneck": args.bottleneck,
        "trainer_precision": steps["trainer"].precision,
        "steps_per_round": per_round,
        "allocator_tuned_for_both": allocator_tuned,
        "gflop_per_step": {k: v / 1e9 for k, v in flops.items()},
        "seconds_per_step_median": med,
        "images_per_s_median": {k: args.batch / v for k, v in med.items()},
        "images_per_s_best": {k: args.batch / v for k, v in best.items()},
        "speedup_median": {k: med["plain"] / v for k, v in med.items() if k != "plain"},
        "speedup_best": {k: best["plain"] / v for k, v in best.items() if k != "plain"},
        "achieved_gflops_median": {k: flops[k] / v / 1e9 for k, v in med.items()},
        "achieved_gflops_best": {k: flops[k] / v / 1e9 for k, v in best.items()},
        "matmul_gflops": {"fp32": mm_fp32, "bf16": mm_bf16, "fp32_side": big},
        "first_steps_losses": first,
        "first_steps_max_relative_difference": {"reference": ref, **drift},
        "all_step_seconds": times,
    }
    print(json.dumps(out, indent=2))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2)


if __name__ == "__main__":
    main()
