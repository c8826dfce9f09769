"""LS and ELS machines (`LocalEmpiricalOracle`) against a naive per-pixel loop, same process.

Fashion-MNIST 32 x 32 (28 x 28 padded with zeros), N training images, a batch of noisy test
images at a known sigma. The naive baseline is the direct way to write the definition: for
each pixel u, the patch P_u y, then |P_u y - P_v x_n|^2 by broadcasting over every training
patch (held unfolded in memory), softmax, weighted mean of the centre pixels; float64 like the
oracle. It is timed on `--pixels` pixels of the first image and extrapolated linearly to the
whole batch (every pixel costs the same). The naive ELS needs all N H W patches in memory
(2 GiB at N = 10^4), so by default it runs at N <= `--naive-max-train` only and is extrapolated
linearly in N beyond (its cost is linear in N); the table says which numbers are extrapolated.
The oracle is timed on the whole batch, best of `--repeat`. Blind sigma: the time of the global
ML estimate (`estimate_sigma` of a blind oracle) is printed beside, as it adds to each call.

    python benchmarks/local_oracle.py [--train 1000 10000] [--batch 4] [--patch-size 5]
                                      [--sigma 0.2] [--pixels 16] [--threads 1]
"""

import argparse
import time

import torch

from gahr.data import fashion_mnist
from gahr.oracles import LocalEmpiricalOracle


def padded(x: torch.Tensor, r: int, boundary: str) -> torch.Tensor:
    """x with r pixels of border on each side: wrapped or zero."""
    mode = "circular" if boundary == "circular" else "constant"
    return torch.nn.functional.pad(x, (r, r, r, r), mode=mode)


def naive_setup(train: torch.Tensor, k: int, boundary: str, equivariant: bool):
    """Every training patch unfolded, float64: (N, HW, C k^2) and centres (N, HW, C)."""
    x = train.double()
    patches = torch.nn.functional.unfold(padded(x, k // 2, boundary), k).transpose(1, 2)
    centres = x.flatten(2).transpose(1, 2)
    if equivariant:
        return patches.reshape(-1, patches.shape[-1]), centres.reshape(-1, centres.shape[-1])
    return patches, centres


def naive_pixel(y: torch.Tensor, u: int, k: int, boundary: str, setup, equivariant: bool,
                sigma: float) -> torch.Tensor:
    """x_hat(u) of one image (C, H, W) by the definition."""
    W = y.shape[-1]
    i, j = divmod(u, W)
    q = padded(y[None].double(), k // 2, boundary)[0, :, i:i + k, j:j + k].flatten()
    patches, centres = setup
    if not equivariant:
        patches, centres = patches[:, u], centres[:, u]
    d = (patches - q).square().sum(-1)
    return torch.softmax(-d / (2 * sigma**2), dim=0) @ centres


def best_time(fn, repeat: int):
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return out, best


def measure(train, y, args, equivariant: bool) -> dict:
    """One table row: oracle and (extrapolated) naive seconds per batch, memory, agreement."""
    N, B, HW = len(train), len(y), y.shape[-1] * y.shape[-2]
    k, boundary = args.patch_size, args.boundary
    oracle = LocalEmpiricalOracle(train, k, equivariant, args.sigma, boundary)
    out, t_oracle = best_time(lambda: oracle(y), args.repeat)
    n_naive = N if not equivariant else min(N, args.naive_max_train)
    setup = naive_setup(train[:n_naive], k, boundary, equivariant)
    pixels = torch.linspace(0, HW - 1, args.pixels).long().tolist()
    start = time.perf_counter()
    naive = [naive_pixel(y[0], u, k, boundary, setup, equivariant, args.sigma) for u in pixels]
    t_naive = (time.perf_counter() - start) * (B * HW / len(pixels)) * (N / n_naive)
    check = "n/a (naive on fewer images)"
    if n_naive == N:
        got = out[0].flatten(1).T[pixels].double()
        check = f"{float((torch.stack(naive) - got).abs().max()):.1e}"
    blind = LocalEmpiricalOracle(train, k, equivariant, None, boundary)
    _, t_blind = best_time(lambda: blind.estimate_sigma(y), args.repeat)
    return dict(machine="ELS" if equivariant else "LS", N=N, oracle=t_oracle, naive=t_naive,
                naive_note=f"{len(pixels)} px" + ("" if n_naive == N else f", N={n_naive}"),
                memory=oracle.memory_bound(B), naive_memory=setup[0].numel() * 8 * N / n_naive,
                check=check, blind=t_blind)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--patch-size", type=int, default=5)
    parser.add_argument("--boundary", default="zero", choices=["circular", "zero"])
    parser.add_argument("--sigma", type=float, default=0.2)
    parser.add_argument("--pixels", type=int, default=16)
    parser.add_argument("--naive-max-train", type=int, default=1000)
    parser.add_argument("--machines", nargs="+", default=["LS", "ELS"], choices=["LS", "ELS"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(args.seed)
    train_all = fashion_mnist(split="train")[: max(args.train)]
    clean = fashion_mnist(split="test")[: args.batch]
    # float64 in, float64 out: the agreement check then sees the oracle's own precision
    y = (clean + args.sigma * torch.randn(clean.shape, generator=gen)).double()
    print(f"Fashion-MNIST 32x32, batch {args.batch}, k={args.patch_size}, {args.boundary} "
          f"borders, sigma={args.sigma}, {torch.get_num_threads()} thread(s), best of "
          f"{args.repeat}; naive = per-pixel loop, timed on a subset, extrapolated")
    print(f"{'machine':7} {'N':>6} {'oracle s/batch':>14} {'naive s/batch':>14} {'ratio':>7} "
          f"{'oracle MiB':>10} {'naive MiB':>10} {'blind-sigma s':>13}  max|diff|  naive run on")
    for machine in args.machines:
        for N in args.train:
            row = measure(train_all[:N], y, args, machine == "ELS")
            print(f"{row['machine']:7} {N:>6} {row['oracle']:>14.2f} {row['naive']:>14.1f} "
                  f"{row['naive'] / row['oracle']:>7.1f} {row['memory'] / 2**20:>10.1f} "
                  f"{row['naive_memory'] / 2**20:>10.0f} {row['blind']:>13.3f}  "
                  f"{row['check']:>9}  {row['naive_note']}", flush=True)


if __name__ == "__main__":
    main()
