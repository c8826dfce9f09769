"""How often the default sampler fails on the shipped models, with and without `Schedule.stall`.

For each shipped model (`gahr.nets.pretrained_names()`) and each seed s, the samples of
`gahr sample pretrained:NAME --n N --seed s` (the default preset, `kadkhodaie2021`, started at
the model's mean intensity): how many failed and why, and for the failed ones the lowest
effective noise sigma_t they reached before failing. With `--stall K` the same runs use
`Schedule(stall=K)` (a sample whose sigma_t has not reached a new minimum for K calls stops and
returns its denoised iterate at that minimum; see `gahr.sample.Schedule`).

Usage: python benchmarks/sampler_failures.py [--n 16] [--seeds 0 1 2] [--stall 20]
           [--models fashion32 discs32] [--json out.json]
"""

import argparse
import json

import torch

from gahr.io import save_json
from gahr.nets import load_denoiser, pretrained_names
from gahr.rundir import trained_image_size
from gahr.sample import preset, synthesize


def run_model(name: str, n: int, seeds, stall) -> dict:
    den = load_denoiser(f"pretrained:{name}")
    shape = (den.channels, *trained_image_size(den.meta))
    schedule = preset("kadkhodaie2021", stall=stall)
    out = {"failed": 0, "samples": 0, "stalled": 0, "reasons": {}, "min_sigma_failed": [],
           "calls": 0}
    for seed in seeds:
        seeds_i = [seed * 1_000_000 + i for i in range(n)]
        res = synthesize(den, shape, n, schedule, seeds=seeds_i,
                         start_mean=den.meta.get("mean_intensity"))
        out["samples"] += n
        out["calls"] += int(res.steps.sum())
        out["stalled"] += len(res.stalled)
        for i in res.failed:
            out["failed"] += 1
            reason = res.reasons[i].split(":")[0]
            out["reasons"][reason] = out["reasons"].get(reason, 0) + 1
            out["min_sigma_failed"].append(round(float(res.sigmas[i].min()), 4))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=16)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--stall", type=int, default=None)
    p.add_argument("--models", nargs="+", default=None)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", default=None, help="write the numbers here")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    results = {}
    print(f"stall={args.stall}, n={args.n} per seed, seeds {args.seeds}")
    print("| model | failed / samples | stalled (returned at their minimum) | reasons | "
          "lowest sigma_t of the failed | calls per sample |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name in args.models or pretrained_names():
        r = results[name] = run_model(name, args.n, args.seeds, args.stall)
        print(f"| {name} | {r['failed']}/{r['samples']} | {r['stalled']} | {r['reasons'] or '-'}"
              f" | {r['min_sigma_failed'] or '-'} | {r['calls'] / r['samples']:.0f} |",
              flush=True)
    if args.json:
        save_json({"stall": args.stall, "n": args.n, "seeds": args.seeds, "models": results},
                  args.json)
    print(json.dumps({k: f"{v['failed']}/{v['samples']}" for k, v in results.items()}))


if __name__ == "__main__":
    main()
