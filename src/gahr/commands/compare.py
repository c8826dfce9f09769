"""`gahr compare`: analytic models of the same training set against a trained net."""

import argparse
from pathlib import Path

from ._common import add_device_arg, resolve_device, sigma_value

#: What --protocol sets together (explicit flags win): the sampler preset, whether and how the
#: local machines are calibrated, and the number of same-seed samples.
PROTOCOLS = {
    "gahr": dict(sampler="deterministic", calibrate=False, calibration="mse", samples=8),
    # Kamb & Ganguli (2025): DDIM 20 steps on their cosine grid from pure noise, k per step on
    # the net's trajectory by score cosine, median over 100 seeds
    "kamb-ganguli": dict(sampler="kamb-ganguli", calibrate=True, calibration="trajectory",
                         samples=100),
}


def pixels_value(text: str) -> int | None:
    """`all` (None) or a positive number of pixels per image."""
    if text == "all":
        return None
    if text.isdigit() and int(text) > 0:
        return int(text)
    raise argparse.ArgumentTypeError(f"{text!r}: give a number of pixels >= 1 or 'all'")


def register(sub) -> None:
    p = sub.add_parser(
        "compare", help="how closely analytic models (memorizer, ELS/LS, Gaussian) explain a net",
        description="Build each analytic model on the net's own training set (read from its "
        "run's config.json), then measure per sigma the MSE between the net's and the model's "
        "outputs on noisy held-out test images (models at the true sigma), and the Pearson r "
        "of same-seed samples of the deterministic sampler (beta = 1). Cost: the ELS machine "
        "takes O(N (HW)^2 k^2) per image, about 3-40 s per 32x32 image at N = 1000 for k = "
        "3-15 on one core and 30x that at N = 30000; hence the few test images and the pixel "
        "subsample by default. Several RUNs: one directory each under --out and a summary "
        "table across them. Writes results.json, figures/ and report.html; resumes.")
    p.add_argument("runs", nargs="+", metavar="RUN",
                   help="run dir, model.safetensors with config.json beside it, or "
                   "pretrained:NAME")
    p.add_argument("--oracle", nargs="+", choices=["memorizer", "els", "ls", "gaussian"],
                   default=["memorizer", "els"], help="models to compare (default memorizer els)")
    add_machine_args(p)
    p.add_argument("--sigmas", type=sigma_value, nargs="+",
                   default=[s / 255 for s in (5, 10, 25, 50, 100, 200)],
                   help="noise levels, e.g. 25/255 (default 5 10 25 50 100 200 /255)")
    p.add_argument("--images", type=int, default=16, help="held-out test images (default 16)")
    p.add_argument("--pixels", type=pixels_value, default=64,
                   help="random pixels per image for the MSEs, or 'all' (default 64)")
    p.add_argument("--boundary", choices=["auto", "circular", "zero", "broken"], default="auto",
                   help="borders of the ELS/LS machines: circular (models circularly padded "
                   "nets), zero, or broken (Kamb & Ganguli's boundary-broken machine: models "
                   "zero-padded nets); default auto, from the net's padding (gahr's UNets: "
                   "broken), said in the log")
    p.add_argument("--samples", type=int,
                   help="same-seed deterministic samples per model (default 8, or the "
                   "protocol's; 0: none)")
    p.add_argument("--sample-oracles", nargs="+", choices=["memorizer", "els", "ls", "gaussian"],
                   help="models that sample (default: all of --oracle)")
    p.add_argument("--local-sample-max-n", dest="local_sample_max_train", type=int,
                   default=10000, help="no ELS/LS samples above this N (a full-image call costs "
                   "O(N (HW)^2); default 10000)")
    p.add_argument("--other-split", action="store_true",
                   help="also sample the net of the other split (the sweep's sibling run "
                   "N{n}_S2 of an S1 run) from the same seeds and start: r between two nets")
    p.add_argument("--sigma-L", dest="sigma_L", type=float, default=0.025,
                   help="the sampler's stopping noise level (default 0.025)")
    p.add_argument("--memorization", metavar="RESULTS_JSON",
                   help="results.json of the memorization experiment on these runs' sweep: its "
                   "same-seed S1/S2 similarity goes beside the summary")
    p.add_argument("--seed", type=int, default=0, help="noise, pixels and sample seeds")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument("--out", required=True, help="output directory")
    add_device_arg(p)
    p.set_defaults(func=run)


def add_machine_args(p) -> None:
    """The local machines' patch size or calibration, and the sampler and protocol."""
    k = p.add_mutually_exclusive_group()
    k.add_argument("--patch-size", type=int, help="odd patch size k of the ELS/LS machines")
    k.add_argument("--calibrate", action="store_true",
                   help="per sigma, the k of --patch-sizes that best matches the net")
    p.add_argument("--patch-sizes", type=int, nargs="+",
                   help="calibration grid (default 3 5 7 9 11 15 for mse, every odd k up to "
                   "the image size for trajectory)")
    p.add_argument("--calibration", choices=["mse", "trajectory"],
                   help="mse (default): per sigma, least MSE to the net on noisy test images; "
                   "trajectory: per sampler step, largest cosine between the net's and the "
                   "machine's scores at the net's own iterates (Kamb & Ganguli)")
    p.add_argument("--calibration-samples", type=int, default=8,
                   help="trajectories of the trajectory calibration, own seeds (default 8)")
    p.add_argument("--calibration-pixels", type=pixels_value, default=None,
                   help="the trajectory calibration's cosines over this many random pixels "
                   "per image, or 'all' (default all, as Kamb & Ganguli)")
    p.add_argument("--sampler", help="sampler preset (gahr.sample.PRESETS: deterministic "
                   "(default), kadkhodaie2021, kadkhodaie2024 made deterministic, or "
                   "kamb-ganguli: DDIM, 20 steps, cosine schedule, from pure noise; heun or "
                   "ddim: probability flow, for conditional models)")
    p.add_argument("--protocol", choices=sorted(PROTOCOLS), default="gahr",
                   help="defaults for --sampler, --calibrate/--calibration and --samples "
                   "together: gahr (deterministic, mse if --calibrate, 8) or kamb-ganguli "
                   "(kamb-ganguli, trajectory, 100: their paper's); explicit flags win")


def run(args) -> int:
    from ..workflows.compare import CompareSettings, compare_run
    from ..workflows.compare_sweep import compare_runs

    protocol = PROTOCOLS[args.protocol]
    settings = CompareSettings(
        oracles=tuple(args.oracle), patch_size=args.patch_size,
        calibrate=args.calibrate or (protocol["calibrate"] and args.patch_size is None),
        calibration=args.calibration or protocol["calibration"],
        calibration_samples=args.calibration_samples,
        calibration_pixels=args.calibration_pixels, sampler=args.sampler or protocol["sampler"],
        patch_sizes=tuple(args.patch_sizes) if args.patch_sizes else None,
        sigmas=tuple(args.sigmas), n_images=args.images, pixels=args.pixels,
        boundary=args.boundary,
        samples=protocol["samples"] if args.samples is None else args.samples,
        sample_oracles=tuple(args.sample_oracles) if args.sample_oracles else None,
        sigma_L=args.sigma_L, seed=args.seed,
        local_sample_max_train=args.local_sample_max_train, other_split=args.other_split)
    device = resolve_device(args.device)
    if len(args.runs) == 1 and not args.memorization:
        compare_run(args.runs[0], settings, args.out, device=device, threads=args.threads)
    else:
        compare_runs(args.runs, settings, args.out, memorization=args.memorization,
                     device=device, threads=args.threads)
    print(f"gahr compare: results and figures in {args.out}\nreport: "
          f"{Path(args.out) / 'report.html'}")
    return 0
