"""`gahr slopes`: the C^alpha slope table, one net per alpha, against the optimum and the paper."""

from ._common import add_device_arg, json_options, resolve_device, sigma_value


def register(sub) -> None:
    p = sub.add_parser("slopes", help="C^alpha PSNR slopes for alpha = 1..5 against the optimum "
                       "alpha/(alpha+1), wavelets and the paper",
                       description="For each alpha, the MSE of its net and of best-threshold "
                       "wavelets over log-spaced sigmas on fresh C^alpha images, fitted as a PSNR "
                       "slope over the sigmas where the net's error is set by the noise (or "
                       "--fit-range). Writes slopes.md, slopes.json, slopes.png.")
    p.add_argument("models", nargs="+", help="one model per alpha, or one template such as "
                   "'pretrained:calpha32-alpha{alpha}'")
    p.add_argument("--alphas", type=float, nargs="+", default=[1, 2, 3, 4, 5])
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--sigmas", type=sigma_value, nargs="+",
                   help="noise levels (default: 15 log-spaced in [1, 128]/255)")
    p.add_argument("--fit-range", type=sigma_value, nargs=2, metavar=("LO", "HI"),
                   help="fit every alpha over this sigma range instead of its meaningful one")
    p.add_argument("--margin", type=float, default=4.0, help="the meaningful range keeps sigmas "
                   "whose net MSE is >= MARGIN x its clean-image error and <= 1/MARGIN of the "
                   "mean image's (default 4)")
    p.add_argument("--n-images", type=int, default=64, help="test images per alpha")
    p.add_argument("--size", type=int, help="image side (default: each model's training size)")
    p.add_argument("--wavelet", default="db4", help="orthogonal wavelet of the baseline")
    p.add_argument("--options", default=None, help="JSON C^alpha options of the test images, "
                   'e.g. \'{"blur": null}\' for nets trained on hard edges')
    p.add_argument("--seed", type=int, default=1_000_003, help="seed of the test images/noise")
    add_device_arg(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..workflows.slopes import SIGMAS, calpha_slopes

    calpha_slopes(args.models, args.out, alphas=args.alphas, sigmas=args.sigmas or SIGMAS,
                  fit_range=args.fit_range, n_images=args.n_images, seed=args.seed,
                  wavelet=args.wavelet, options=json_options(args.options), size=args.size,
                  margin=args.margin, device=resolve_device(args.device))
    print(open(f"{args.out}/slopes.md").read(), end="")
    print(f"-> {args.out}/slopes.md, .json, .png")
    return 0
