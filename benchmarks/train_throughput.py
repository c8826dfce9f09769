"""Training images/second: `gahr.train.train` against a plain reference loop, in one process.

The reference is the usual way to write this loop (and the paper code's): the small training
set tiled to the epoch length, a `DataLoader(shuffle=True)` over it (per-sample indexing and
collation), fresh noise tensors every batch, `MSELoss(reduction="sum") / B`, default Adam.
Both train the same net from the same initialization on the same images with the same thread
count; the clock runs from the end of the first step to the end of the last (setup, first-call
warm-up, evaluation and saving are excluded from both).

    python benchmarks/train_throughput.py [--steps 60] [--batch 64] [--size 32] [--threads 0]
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.flop_counter import FlopCounterMode

from gahr.config import load_config
from gahr.data import open_dataset
from gahr.train import build_net, select, train


def reference_loop(net: nn.Module, images: torch.Tensor, steps: int, batch: int,
                   lr: float) -> float:
    """The plain loop; returns images/second over steps 2..steps.

    Images stay on the CPU and each batch is moved to the net's device, as the paper code does.
    """
    device = next(net.parameters()).device
    reps = -(-steps * batch // len(images))
    loader = DataLoader(TensorDataset(images.repeat(reps, 1, 1, 1)), batch_size=batch,
                        shuffle=True, drop_last=True)
    criterion = nn.MSELoss(reduction="sum")
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    net.train()
    start = None
    for i, (clean,) in enumerate(loader):
        if i == steps:
            break
        clean = clean.to(device)
        sigma = torch.rand(clean.shape[0], 1, 1, 1, device=device)
        noise = torch.randn(clean.shape, device=device) * sigma
        optimizer.zero_grad()
        loss = criterion(net(clean + noise), noise) / clean.shape[0]
        loss.backward()
        optimizer.step()
        if i == 0:
            _sync(device)
            start = time.perf_counter()
    _sync(device)
    return (steps - 1) * batch / (time.perf_counter() - start)


def _sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def trainer(config, images: torch.Tensor) -> float:
    """`gahr.train.train` for one epoch; images/second over steps 2..end, via a callback."""
    stamps = []

    def stamp(epoch, step, loss):
        loss.item()  # waits for the device
        stamps.append(time.perf_counter())

    with tempfile.TemporaryDirectory() as run_dir:
        train(config, run_dir, images=images, progress=False, callbacks=[stamp])
    return (len(stamps) - 1) * config.train.batch_size / (stamps[-1] - stamps[0])


def flop_per_image(net: torch.nn.Module, images: torch.Tensor) -> float:
    """FLOPs of one forward + backward pass of `net`, per image."""
    x = images.to(memory_format=torch.channels_last).requires_grad_(False)
    with FlopCounterMode(display=False) as counter:
        net(x).square().sum().backward()
    net.zero_grad(set_to_none=True)
    return counter.get_total_flops() / len(x)


def clock_ghz() -> float:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("cpu MHz"):
                return float(line.split(":")[1]) / 1000
    except OSError:
        pass
    return float("nan")


def add_net_args(p: argparse.ArgumentParser, steps: int, threads: int,
                 threads_help: str | None = None) -> None:
    """The measured net and run: `--steps --batch --size --kernels --blocks --threads`."""
    p.add_argument("--steps", type=int, default=steps)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--kernels", type=int, default=16)
    p.add_argument("--blocks", type=int, default=2)
    p.add_argument("--threads", type=int, default=threads, help=threads_help)


def bench_images(args) -> torch.Tensor:
    """The benchmark's images: 1024 training + 64 test discs at `args.size`."""
    return open_dataset("discs", n=1024 + 64, size=args.size, seed=0)


def net_overrides(args, device: str) -> list[str]:
    """The trainer's config for `add_net_args`' net and run: one epoch of `args.steps` steps,
    a token evaluation (8 images at one sigma)."""
    return ["model.arch=unet", f"model.num_kernels={args.kernels}",
            f"model.num_blocks={args.blocks}", "train.epochs=1",
            f"train.samples_per_epoch={args.steps * args.batch}",
            f"train.batch_size={args.batch}", "train.eval_sigmas=[0.1]", "train.eval_images=8",
            "data.n_test=64", f"train.device={device}", f"train.threads={args.threads}"]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_net_args(p, steps=60, threads=0, threads_help="0: torch's default")
    p.add_argument("--device", default="cpu")
    p.add_argument("--channels-last", default="auto", choices=["auto", "on", "off"],
                   help="the trainer's train.channels_last (off: isolates the loop's own gain)")
    p.add_argument("--repeats", type=int, default=2, help="alternating runs of each; best kept")
    p.add_argument("--flop-per-cycle", type=float, default=32.0,
                   help="one core's float32 peak rate (Zen 4: 32); the clock is read from "
                   "/proc/cpuinfo")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    images = bench_images(args)
    config = load_config(None, [*net_overrides(args, args.device),
                                f"train.channels_last={args.channels_last}"])
    train_images = select(images, config.data).train
    ref, ours = [], []
    for _ in range(args.repeats):  # alternate, so a load change on the machine hits both
        net = build_net(config, train_images).to(args.device)
        ref.append(reference_loop(net, train_images, args.steps, args.batch, config.train.lr))
        ours.append(trainer(config, images))
    print(f"device {args.device}, {torch.get_num_threads()} threads, UNet {args.kernels} "
          f"kernels x {args.blocks} blocks, {args.size}x{args.size}, batch {args.batch}, "
          f"{args.steps} steps, trainer channels_last={args.channels_last}")
    print(f"reference loop : {max(ref):8.1f} images/s  (runs: {_fmt(ref)})")
    print(f"gahr.train     : {max(ours):8.1f} images/s  (runs: {_fmt(ours)})")
    print(f"ratio          : {max(ours) / max(ref):.2f}x")
    flops = flop_per_image(build_net(config, train_images), train_images[:args.batch])
    peak = args.flop_per_cycle * clock_ghz() * torch.get_num_threads()
    gflops = max(ours) * flops / 1e9
    print(f"gahr.train     : {gflops:.1f} GFLOP/s ({flops / 1e6:.0f} MFLOP per image per step, "
          f"forward + backward), {gflops / peak:.0%} of the {peak:.0f} GFLOP/s fp32 peak of "
          f"{torch.get_num_threads()} core(s)")
    return 0


def _fmt(values) -> str:
    return ", ".join(f"{v:.1f}" for v in values)


if __name__ == "__main__":
    sys.exit(main())
