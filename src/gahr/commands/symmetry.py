"""`gahr symmetry`: how symmetric each model's Jacobian is, five ways, per noise level."""

from ._common import add_device_arg, json_options, resolve_device, sigma_value


def register(sub) -> None:
    p = sub.add_parser("symmetry", help="asymmetry of the Jacobian J(y), five normalizations, "
                       "per noise level", description="For each model, at each sigma, on the "
                       "same test images and noise: ||J-J^T|| relative to ||J|| (Frobenius and "
                       "spectral), to ||I-J|| (the score's Jacobian), within the retained "
                       "subspace, and on the noisy image (||(J-J^T) y|| / ||J y||, twice the "
                       "error of the eigen-shrinkage reading of x_hat). Writes symmetry.md, "
                       ".json and one PNG per model.")
    p.add_argument("models", nargs="+", help="run dirs, model.safetensors or pretrained:NAME")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--sigmas", type=sigma_value, nargs="+",
                   help="noise levels (default 5 15 30 60 120 /255)")
    p.add_argument("--input", help=".npy image set (default: fresh test images of the first "
                   "model's training class)")
    p.add_argument("--n-images", type=int, default=2, help="test images (default 2)")
    p.add_argument("--options", default=None, help="JSON data options of the fresh test "
                   'images, replacing the run\'s, e.g. \'{"blur": null}\'')
    p.add_argument("--seed", type=int, default=1_000_003, help="seed of the test images/noise")
    add_device_arg(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..workflows.symmetry_files import DEFAULT_SIGMAS, symmetry_run

    symmetry_run(args.models, args.out, sigmas=args.sigmas or DEFAULT_SIGMAS, input=args.input,
                 n_images=args.n_images, seed=args.seed, options=json_options(args.options),
                 device=resolve_device(args.device))
    print(open(f"{args.out}/symmetry.md").read(), end="")
    print(f"-> {args.out}/symmetry.md, .json, symmetry_*.png ({len(args.models)} model(s))")
    return 0
