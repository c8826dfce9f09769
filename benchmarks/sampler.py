"""Sampler speed and accuracy, measured against baselines run in the same process.

1. Throughput: samples/second of the batched sampler (`gahr.sample.synthesize`, batch 64) over a
   plain one-image-at-a-time loop of Algorithm 1, same UNet (CPU preset: 16 kernels, 2 blocks,
   32x32, eval mode, random weights), same seeds, same fixed number of calls per sample
   (sigma_L = 0 with max_steps = K, so every sample does exactly K calls), plus the batched
   code at batch 1 (its own overhead). The largest difference between the two paths' final
   iterates is printed as a correctness check.
2. Calls per sample on a Gaussian prior (exact oracle): the 2021 growing step versus the 2024
   constant step.
3. Beyond the paper: spectral error (RMS over radial bands of log(measured / expected power),
   expected = P^2 / (P + s_f^2) given each run's final noise) against denoiser calls, for
   Algorithm 1 with several step sizes and for the fixed-budget variant with several budgets;
   the floor is the same statistic for exact prior samples denoised at sigma_L.

Usage: python benchmarks/sampler.py [--device cuda] [--steps 20] [--n 64] [--skip-speed]
"""

import argparse
import math
import time

import torch

from gahr.nets import Denoiser, UNet
from gahr.oracles import GaussianOracle, power_law
from gahr.sample import PRESETS, FixedBudget, Schedule, synthesize
from gahr.sample.spectrum import spectral_error


def naive_loop(denoiser, shape, seed, steps, device, h_0=0.01, beta=0.01):
    """Algorithm 1 for one image, exactly `steps` calls: the reference the batch is timed
    against. Returns the last iterate's denoised image."""
    gen = torch.Generator(device=device).manual_seed(seed)
    y = 0.5 + torch.randn(shape, generator=gen, device=device)
    D = y.numel()
    for t in range(1, steps + 1):
        with torch.no_grad():
            x_hat = denoiser(y[None])[0]
        if t == steps:
            return x_hat
        d = x_hat - y
        sigma = float(d.double().norm()) / math.sqrt(D)
        h = h_0 * t / (1 + h_0 * (t - 1))
        gamma = math.sqrt((1 - beta * h) ** 2 - (1 - h) ** 2) * sigma
        y = y + h * d + gamma * torch.randn(shape, generator=gen, device=device)


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def speed(device, n, steps, repeat=2):
    torch.manual_seed(0)
    den = Denoiser(UNet(num_kernels=16, num_blocks=2)).to(device)
    shape, seeds = (1, 32, 32), list(range(n))
    kw = dict(seeds=seeds, sigma_max=float("inf"), device=device)
    fixed = Schedule(sigma_L=0.0, max_steps=steps)
    synthesize(den, shape, 2, Schedule(sigma_L=0.0, max_steps=2), seeds=[0, 1], device=device)
    timings, outs = {}, {}
    paths = [
        ("one-image loop (reference)",
         lambda: torch.stack([naive_loop(den, shape, s, steps, device) for s in seeds])),
        ("synthesize, batch 1", lambda: _last_iterates(den, shape, fixed, kw, 1)),
        (f"synthesize, batch {n}", lambda: _last_iterates(den, shape, fixed, kw, n)),
    ]
    for _ in range(repeat):  # interleaved repeats, best time: robust to a busy shared CPU
        for name, run in paths:
            _sync(device)
            t0 = time.perf_counter()
            outs[name] = run()
            _sync(device)
            timings[name] = min(timings.get(name, math.inf), time.perf_counter() - t0)
    ref = timings["one-image loop (reference)"]
    print(f"\n[1] throughput, UNet(16 kernels, 2 blocks), 32x32, {n} samples x {steps} calls, "
          f"{device}, {torch.get_num_threads()} threads, best of {repeat}")
    for name, sec in timings.items():
        print(f"  {name:<30s} {n / sec:8.2f} samples/s   {ref / sec:5.2f}x   "
              f"{steps} denoiser calls/sample")
    base = outs["one-image loop (reference)"]
    for name in list(outs)[1:]:
        print(f"  max |{name} - reference| = {(outs[name] - base).abs().max().item():.2e}")


def _last_iterates(den, shape, schedule, kw, batch_size):
    """Run Algorithm 1 for exactly K calls per sample and keep each last x_hat (the samples
    'fail' by design: sigma_L = 0 is never reached), via the callback."""
    last = {}

    def keep(info):
        for i, x in zip(info["index"].tolist(), info["x_hat"]):
            last[i] = x

    synthesize(den, shape, len(kw["seeds"]), schedule, batch_size=batch_size, callback=keep,
               **kw)
    return torch.stack([last[i] for i in range(len(kw["seeds"]))])


def gaussian_table(n):
    torch.set_num_threads(1)  # tiny FFTs: threads only add synchronization
    shape = (1, 16, 16)
    oracle = GaussianOracle(power_law(f0=1 / 8), shape, mean=0.5)
    seeds = list(range(n))
    print(f"\n[2] calls per sample on a Gaussian prior (16x16, {n} samples)")
    for name, params in PRESETS.items():
        t0 = time.perf_counter()
        r = synthesize(oracle, shape, n, params, seeds=seeds)
        print(f"  {name:<16s} {params}: {r.steps.double().mean():7.1f} calls/sample "
              f"({time.perf_counter() - t0:.1f} s, {len(r.failed)} failed)")
    sigma_L = 0.05
    print(f"\n[3] spectral error vs denoiser calls (sigma_L = {sigma_L}, {n} samples)")
    floor = _floor(oracle, n, sigma_L)
    print(f"  floor (exact prior samples, denoised at sigma_L): {floor:.3f}")
    rows = []
    for rule, beta, h_0 in [("growing", 0.01, 0.01), ("growing", 0.1, 0.01),
                            ("growing", 0.5, 0.05), ("constant", 0.1, 0.01),
                            ("constant", 0.5, 0.05), ("constant", 0.5, 0.02)]:
        schedule = Schedule(rule=rule, beta=beta, h_0=h_0, sigma_L=sigma_L)
        r = synthesize(oracle, shape, n, schedule, seeds=seeds)
        rows.append((f"Algorithm 1 {rule}, h_0={h_0}, beta={beta}", r))
    for steps in (5, 10, 20, 40, 80, 160):
        r = synthesize(oracle, shape, n, FixedBudget(steps, sigma_L=sigma_L, beta=0.5),
                       seeds=seeds)
        rows.append((f"fixed budget K={steps}, beta=0.5", r))
    for name, r in sorted(rows, key=lambda row: float(row[1].steps.double().mean())):
        final = torch.stack([s[-1] for s in r.sigmas])
        err = spectral_error(r.good(), oracle, final[r.ok])
        print(f"  {name:<40s} {r.steps.double().mean():7.1f} calls  error {err:.3f}")


def _floor(oracle, n, sigma_L):
    gen = torch.Generator().manual_seed(0)
    x = oracle.sample(n, gen)
    y = x + sigma_L * torch.randn(x.shape, generator=gen)
    # spectral_error takes the effective noise |d| / sqrt(D) of the last iterate; for true
    # noise sigma_L that is sqrt(mean_k sigma_L^4 / (P_k + sigma_L^2))
    eff = float((sigma_L**4 / (oracle.spectrum + sigma_L**2)).mean().sqrt())
    return spectral_error(oracle.wiener(y, sigma_L), oracle, torch.full((n,), eff))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--n", type=int, default=64, help="samples in the throughput test")
    ap.add_argument("--steps", type=int, default=20, help="calls per sample, throughput test")
    ap.add_argument("--n-gauss", type=int, default=128, help="samples in the Gaussian tables")
    ap.add_argument("--repeat", type=int, default=2, help="timing repeats (best is kept)")
    ap.add_argument("--threads", type=int, help="torch threads for the throughput test")
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--skip-gauss", action="store_true")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if not args.skip_speed:
        speed(torch.device(args.device), args.n, args.steps, args.repeat)
    if not args.skip_gauss:
        gaussian_table(args.n_gauss)


if __name__ == "__main__":
    main()
