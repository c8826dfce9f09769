"""The trainer's speed options against plain float32, in one process: `train.amp = "bf16"`,
`train.compile = true`, and both; images/second, their ratio to float32, GFLOP/s and the
fraction of one core's peak.

Each variant trains the same net (UNet, channels_last as the trainer's default) on the same
images with `gahr.train.train`; the clock runs from the end of the first step to the end of the
last (compilation, warm-up, evaluation and saving excluded). Variants alternate `--repeats`
times (a load change on the machine hits all of them) and the best run of each is kept.

FLOPs: counted once per step by torch's FlopCounterMode (forward + backward of the net on one
batch; the optimizer's and the loss's are not counted). Peak: FLOP per cycle per core times the
clock in /proc/cpuinfo: `--flop-per-cycle 32` is Zen 4's float32 rate (two 256-bit FMA pipes, 8
lanes, 2 FLOP per FMA; AVX-512 runs on them in two halves); bf16 dot products (VDPBF16PS) do
twice that, so the bf16 rows are also measured against 64.

    python benchmarks/train_options.py [--steps 40] [--batch 64] [--threads 1] [--repeats 2]
"""

import argparse
import sys
from pathlib import Path

import torch

from gahr.config import load_config
from gahr.train import build_net, select
from gahr.train.precision import cpu_bf16_flags

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_throughput import (  # noqa: E402
    add_net_args,
    bench_images,
    clock_ghz,
    flop_per_image,
    net_overrides,
    trainer,
)

VARIANTS = {"fp32": ("off", "false"), "bf16": ("bf16", "false"), "compile": ("off", "true"),
            "bf16+compile": ("bf16", "true")}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_net_args(p, steps=40, threads=1)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--flop-per-cycle", type=float, default=32.0)
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    images = bench_images(args)
    base = net_overrides(args, "cpu")
    configs = {name: load_config(None, [*base, f"train.amp={amp}", f"train.compile={comp}"])
               for name, (amp, comp) in VARIANTS.items() if name in args.variants}
    train_images = select(images, configs[args.variants[0]].data).train
    flops = flop_per_image(build_net(configs[args.variants[0]], train_images),
                           train_images[:args.batch])
    runs = {name: [] for name in configs}
    for _ in range(args.repeats):
        for name, config in configs.items():
            runs[name].append(trainer(config, images))
    ghz, ref = clock_ghz(), max(runs[args.variants[0]])
    peak = args.flop_per_cycle * ghz
    print(f"cpu threads {args.threads}, native bf16: {', '.join(cpu_bf16_flags()) or 'none'}, "
          f"clock {ghz:.2f} GHz, peak {peak:.0f} GFLOP/s fp32 per core "
          f"({args.flop_per_cycle:g} FLOP/cycle); UNet {args.kernels}x{args.blocks}, "
          f"{args.size}x{args.size}, batch {args.batch}, {args.steps} steps, "
          f"{flops / 1e6:.0f} MFLOP per image per step")
    for name, values in runs.items():
        best = max(values)
        gflops = best * flops / 1e9
        share = gflops / (peak * args.threads)
        extra = (f", {gflops / (2 * peak * args.threads):.0%} of the bf16 peak"
                 if "bf16" in name else "")
        print(f"{name:13s}: {best:7.1f} img/s  x{best / ref:.2f} of {args.variants[0]}  "
              f"{gflops:5.1f} GFLOP/s  {share:.0%} of the fp32 peak{extra}  "
              f"(runs: {', '.join(f'{v:.1f}' for v in values)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
