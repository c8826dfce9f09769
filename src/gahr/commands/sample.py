"""`gahr sample`: draw samples from the prior implicit in a trained denoiser."""

from ._common import add_device_arg, resolve_device, show_progress


def add_sampler_args(p) -> None:
    """Sampler settings shared by `sample` and `solve`: a preset plus overrides."""
    p.add_argument("--preset", "--sampler", dest="preset", default="kadkhodaie2021",
                   help="kadkhodaie2021 (growing step, few calls; default), kadkhodaie2024 "
                   "(constant step h=0.01, beta=0.1, sigma_L=0.05: about 10x more calls), "
                   "deterministic (the 2021 one at beta=1: no injected noise), heun (EDM's "
                   "probability-flow Heun, 18 steps) or ddim (eta=0, 35 steps), or a name "
                   "added with gahr.sample.register_sampler; with heun/ddim --sigma-0 and "
                   "--sigma-L are the grid's ends and --budget its number of steps")
    p.add_argument("--sigma-0", dest="sigma_0", type=float, help="initial noise level")
    p.add_argument("--sigma-L", dest="sigma_L", type=float, help="stopping noise level")
    p.add_argument("--h0", dest="h_0", type=float, help="first (or constant) step size")
    p.add_argument("--beta", type=float, help="noise injection, 1 = none")
    p.add_argument("--step", choices=["growing", "constant"], help="step-size rule")
    p.add_argument("--max-steps", dest="max_steps", type=int,
                   help="denoiser calls after which a sample counts as failed")
    p.add_argument("--stall", type=int, metavar="K",
                   help="beyond the paper: stop a sample that came within 2 sigma_L and then "
                   "went K calls without a lower sigma_t, returning it at its lowest (e.g. 20; "
                   "rescues samples that reach sigma_L and drift away)")
    p.add_argument("--seed", type=int, default=0, help="sample i uses seed*1000000 + i")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_device_arg(p)


def schedule_of(args, budget: int | None = None):
    """The schedule the sampler flags ask for: the preset with the flags' changes; with a
    `budget`, the fixed budget with the preset's (or the flags') sigma_0, sigma_L and beta."""
    from ..sample import FixedBudget, preset
    from ..sample.schedule import is_sampler

    if is_sampler(preset(args.preset)):  # probability flow: the budget is its steps
        return preset(args.preset, sigma_0=args.sigma_0, sigma_L=args.sigma_L, h_0=args.h_0,
                      beta=args.beta, rule=args.step, max_steps=args.max_steps,
                      stall=args.stall, num_steps=budget)
    if budget is None:
        return preset(args.preset, sigma_0=args.sigma_0, sigma_L=args.sigma_L, h_0=args.h_0,
                      beta=args.beta, rule=args.step, max_steps=args.max_steps,
                      stall=args.stall)
    base = preset(args.preset, sigma_0=args.sigma_0, sigma_L=args.sigma_L, beta=args.beta)
    return FixedBudget(num_steps=budget, sigma_0=base.sigma_0, sigma_L=base.sigma_L,
                       beta=base.beta)


def register(sub) -> None:
    p = sub.add_parser("sample", help="sample the prior implicit in a trained denoiser",
                       description="Stochastic coarse-to-fine gradient ascent (Kadkhodaie & "
                       "Simoncelli 2021, Algorithm 1), batched with per-sample seeds. Writes "
                       "an .npz (samples, steps, seeds, failed, sigma_t trajectories) and a "
                       "PNG grid of the converged samples beside it (failed ones are left out "
                       "and named in its title). Exit status: 0 when every sample converged, "
                       "1 when any failed (named in the summary; the files are written), 2 for "
                       "bad input.")
    p.add_argument("run_dir", help="run dir or model.safetensors")
    p.add_argument("--n", type=int, default=64, help="number of samples")
    p.add_argument("--out", default="samples.npz", help="output .npz (PNG grid beside it)")
    p.add_argument("--size", type=int, nargs="+", metavar="PIXELS",
                   help="image size, H or H W (default: the training size in the model)")
    p.add_argument("--batch-size", type=int, help="images advanced together (default 64)")
    p.add_argument("--budget", type=int, metavar="K",
                   help="fixed-budget variant: exactly K steps (K+1 calls) per sample")
    p.add_argument("--quality", action="store_true",
                   help="also measure FID and KID (95%% bootstrap intervals) of the converged "
                   "samples against held-out real images of the model's data, beside real "
                   "against real at the same count; writes OUT.quality.json")
    add_sampler_args(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..workflows.sample_files import sample_to_files

    if args.budget is not None and args.max_steps is not None:
        print("gahr sample: note: --max-steps is ignored with --budget")
    result = sample_to_files(args.run_dir, args.out, schedule_of(args, args.budget), n=args.n,
                             seed=args.seed, size=args.size, batch_size=args.batch_size,
                             device=resolve_device(args.device),
                             progress=show_progress(args))
    print(f"{result.summary()} -> {args.out}")
    if args.quality:
        from ..workflows.quality import quality_to_file

        print(quality_to_file(args.run_dir, result, args.out))
    return 1 if result.failed else 0
