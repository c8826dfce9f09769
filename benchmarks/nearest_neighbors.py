"""Chunked exact nearest neighbours versus the naive full similarity matrix, same process.

    python benchmarks/nearest_neighbors.py --samples 1000 --train 10000 --size 80

prints both times, their ratio, the largest score block each one holds, and the time for
`--target` training images (default 10^5): extrapolated linearly from the measured run (the scan
is linear in the training set size), or measured when `--train` equals `--target`.
"""

import argparse
import time

import torch

from gahr.analysis.memorization import nearest_neighbors


def naive_neighbors(samples: torch.Tensor, train: torch.Tensor, k: int):
    """The whole (samples x train) mean-removed cosine matrix at once, then top-k."""
    a = samples.flatten(1)
    b = train.flatten(1)
    a = a - a.mean(1, keepdim=True)
    b = b - b.mean(1, keepdim=True)
    sims = (a / a.norm(dim=1, keepdim=True)) @ (b / b.norm(dim=1, keepdim=True)).T
    values, indices = sims.topk(k, dim=1)
    return indices, values, sims.numel()


def timed(fn, repeat: int):
    """Result and best wall time of `repeat` runs (the CPU is shared: the best is the cleanest)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return out, best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--train", type=int, default=10000)
    parser.add_argument("--target", type=int, default=100000)
    parser.add_argument("--size", type=int, default=80)
    parser.add_argument("--chunk-size", type=int, default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(args.seed)
    shape = (1, args.size, args.size)
    train = torch.rand(args.train, *shape, generator=gen)
    samples = torch.rand(args.samples, *shape, generator=gen)
    samples[::10] = 0.5 * train[: len(samples[::10])] + 0.1  # planted copies

    (ref_i, ref_v, naive_block), naive_s = timed(lambda: naive_neighbors(samples, train, 2),
                                           args.repeat)
    found, chunked_s = timed(lambda: nearest_neighbors(samples, train, k=2,
                                                       chunk_size=args.chunk_size),
                             args.repeat)
    agree = float((found.indices == ref_i).all(dim=1).double().mean())
    planted_ok = bool((found.values[::10, 0] > 1 - 1e-5).all())
    chunk = args.chunk_size or max(1, (1 << 24) // args.samples)
    print(f"{args.samples} samples vs {args.train} training images of {args.size}x{args.size}, "
          f"{torch.get_num_threads()} threads, best of {args.repeat}")
    print(f"naive full matrix : {naive_s:8.2f} s, score block {naive_block:,} floats")
    print(f"chunked top-k     : {chunked_s:8.2f} s, score block "
          f"{args.samples * min(chunk, args.train):,} floats")
    print(f"ratio naive/chunked time: {naive_s / chunked_s:.2f}; same neighbours for "
          f"{agree:.1%} of samples; planted copies at similarity 1: {planted_ok}")
    kind = "measured" if args.train == args.target else "extrapolated linearly"
    print(f"{args.samples} x {args.target} ({kind}): "
          f"{chunked_s * args.target / args.train:.1f} s; a full matrix would hold "
          f"{args.samples * args.target:,} floats "
          f"({4 * args.samples * args.target / 2**30:.2f} GiB)")


if __name__ == "__main__":
    main()
