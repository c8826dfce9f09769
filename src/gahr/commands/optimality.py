"""`gahr optimality`: denoisers against the known optimum on C^alpha images or disc images."""

from ._common import add_device_arg, json_options, resolve_device, sigma_value


def register(sub) -> None:
    p = sub.add_parser("optimality", help="MSE slopes on C^alpha images / effective dimension "
                       "on discs, against the known optimum",
                       description="--data calpha: MSE of each net over log-spaced sigmas on "
                       "fresh C^alpha images, the log-log slope on --fit-range in MSE and PSNR "
                       "form, against the optimum alpha/(alpha+1) and best-threshold wavelets. "
                       "--data discs: effective dimension, MSE/(sigma^2 dim) and principal "
                       "angles to the disc manifold's tangent space. Writes JSON, markdown, PNG.")
    p.add_argument("run_dirs", nargs="+", help="run dirs (or model.safetensors)")
    p.add_argument("--data", required=True, choices=["calpha", "discs"])
    p.add_argument("--alpha", type=float, help="C^alpha regularity of the test images")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--size", type=int, help="image side (default: the first run's training size)")
    p.add_argument("--n-images", type=int, help="test images (default 64 calpha, 4 discs)")
    p.add_argument("--sigmas", type=sigma_value, nargs="+",
                   help="noise levels, e.g. 2/255 5/255 ... (default: 10 log-spaced in "
                   "[2, 100]/255 for calpha; 0.02 0.04 0.08 0.16 for discs)")
    p.add_argument("--fit-range", type=sigma_value, nargs=2, metavar=("LO", "HI"),
                   help="sigma range of the slope fit (default: all sigmas)")
    p.add_argument("--wavelet", default="db4", help="orthogonal wavelet of the baseline")
    p.add_argument("--options", default=None,
                   help='JSON data options, e.g. \'{"blur": [2, 2]}\' or \'{"scale": false}\'; '
                   'discs also take min_contrast (test discs with |fg - bg| at least that)')
    p.add_argument("--seed", type=int, default=1_000_003, help="seed of the test images/noise")
    add_device_arg(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..workflows.optimality_files import optimality_run

    options = json_options(args.options)
    rows = optimality_run(args.run_dirs, args.data, args.out, alpha=args.alpha, size=args.size,
                          n_images=args.n_images, sigmas=args.sigmas, fit_range=args.fit_range,
                          seed=args.seed, wavelet=args.wavelet, options=options,
                          device=resolve_device(args.device))
    stem = "optimality" if args.data == "calpha" else "discs"
    print(open(f"{args.out}/{stem}.md").read(), end="")
    print(f"-> {args.out}/{stem}.json, .md, .png ({len(args.run_dirs)} run(s))")
    return 0 if rows else 1
