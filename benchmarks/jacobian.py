"""Speed of the Jacobian analyses against naive baselines, timed in one process.

1. Full Jacobian: `jacobian()` (batched VJPs) vs one backward pass per row (the paper code's
   method), on the CPU-preset-size UNet (32 kernels, 2 blocks) at 32x32; then the paper's UNet
   (64 kernels, 3 blocks) at 80x80, where both are timed on a subset of rows and extrapolated to
   all D rows (printed as such) unless --full80.
2. Top-k eigenvectors by Lanczos vs the full decomposition (full Jacobian + dense eigh) at 80x80.
3. Hutchinson effective dimension vs the exact trace at 32x32: error and time, on the net and
   on the blind Gaussian oracle (whose Jacobian, unlike a random net's ~ I, shrinks strongly).

Nets are randomly initialised unless --run gives a trained 32x32 one: the cost does not depend
on the weights, but a random residual net has J ~ I, a trivially easy trace. Usage:
    python benchmarks/jacobian.py [--threads 2] [--rows80 256] [--k 64] [--probes 64] [--quick]
                                  [--run RUN_DIR]
"""

import argparse
import time

import torch

from gahr.analysis.eigen import effective_dimension, eigen
from gahr.analysis.jacobian import auto_chunk, jacobian, jacobian_rowwise
from gahr.nets import Denoiser, UNet, load
from gahr.oracles import GaussianOracle, power_law


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, out


def bench_full(den, y, rows, chunk, label):
    """Time both methods on `rows` rows (all when None); return (t_ref, t_fast) for all D rows."""
    D = y.numel()
    n = D if rows is None else min(rows, D)
    idx = None if rows is None else torch.arange(n)
    jacobian(den, y, rows=torch.arange(min(8, D)), chunk_size=chunk)  # warm-up (lazy imports)
    t_fast, J = timed(jacobian, den, y, rows=idx, chunk_size=chunk)
    t_ref, R = timed(jacobian_rowwise, den, y, rows=idx)
    err = float((J - R).abs().max())
    scale = D / n
    note = "" if n == D else f" (timed on {n} of {D} rows, extrapolated x{scale:.1f})"
    chunk = chunk or auto_chunk(D)
    print(f"[{label}] full Jacobian D={D} (chunks of {chunk}): row-by-row "
          f"{t_ref * scale:.1f} s, jacobian() {t_fast * scale:.1f} s, ratio "
          f"{t_ref / t_fast:.2f}x, max |diff| {err:.1e}{note}")
    return t_ref * scale, t_fast * scale


def bench_lanczos(den, y, k, t_jacobian, label):
    """Top-k Lanczos vs full decomposition = full Jacobian time + dense eigh time."""
    D = y.numel()
    S = torch.randn(D, D, dtype=torch.float64)
    t_eigh, _ = timed(torch.linalg.eigh, (S + S.T) / 2)
    t_top, basis = timed(eigen, den, y, k=k, tol=1e-4)
    t_full = t_jacobian + t_eigh
    print(f"[{label}] top-{k} Lanczos {t_top:.1f} s vs full decomposition {t_full:.1f} s "
          f"(Jacobian {t_jacobian:.1f} s + eigh {t_eigh:.1f} s): {t_top / t_full:.3f} of its "
          f"time; lambda_1..3 = {[round(float(v), 4) for v in basis.lambda_k[:3]]}")


def bench_trace(den, y, probes, label):
    t_exact, exact = timed(effective_dimension, den, y)
    t_hutch, est = timed(effective_dimension, den, y, probes=probes, seed=0)
    rel = abs(est.value - exact.value) / exact.value
    print(f"[{label}] effective dimension: exact {exact.value:.2f} in {t_exact:.1f} s; "
          f"Hutchinson ({probes} probes) {est.value:.2f} +- {est.stderr:.2f} in {t_hutch:.1f} s: "
          f"error {100 * rel:.1f}% (stderr {100 * est.stderr / exact.value:.1f}%), "
          f"{t_hutch / t_exact:.3f} of the time")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--chunk", type=int, default=None, help="default: auto_chunk(D)")
    p.add_argument("--rows80", type=int, default=128, help="rows timed at 80x80 (extrapolated)")
    p.add_argument("--full80", action="store_true", help="time all 6400 rows at 80x80")
    p.add_argument("--k", type=int, default=64)
    p.add_argument("--probes", type=int, default=64)
    p.add_argument("--quick", action="store_true", help="32x32 only")
    p.add_argument("--only80", action="store_true", help="skip the 32x32 part")
    p.add_argument("--run", help="a trained run dir for the 32x32 net (default: random init)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {args.threads} threads, CPU")
    if not args.only80:
        bench_small(args)
    if args.quick:
        return
    paper = Denoiser(UNet(num_kernels=64, num_blocks=3))
    y80 = torch.rand(1, 1, 80, 80)
    _, t_jac = bench_full(paper, y80, None if args.full80 else args.rows80, args.chunk,
                          "UNet 64k/3b 80x80")
    bench_lanczos(paper, y80, args.k, t_jac, "UNet 64k/3b 80x80")


def bench_small(args):
    small = Denoiser(load(args.run) if args.run else UNet(num_kernels=32, num_blocks=2))
    label = f"{'trained ' if args.run else ''}UNet {small.net.config['num_kernels']}k/" \
            f"{small.net.config['num_blocks']}b 32x32"
    y32 = torch.rand(1, 1, 32, 32)
    bench_full(small, y32, None, args.chunk, label)
    bench_trace(small, y32, args.probes, label)
    oracle = GaussianOracle(power_law(2.0, 0.04), (1, 32, 32), mean=0.5)
    x = oracle.sample(1, generator=torch.Generator().manual_seed(0))
    bench_trace(oracle, x + 0.1 * torch.randn(x.shape), args.probes,
                "blind Gaussian oracle 32x32, sigma 0.1")


if __name__ == "__main__":
    main()
