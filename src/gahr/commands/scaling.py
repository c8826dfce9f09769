"""`gahr scaling`: C^alpha nets trained and measured over image sizes and step counts."""

from ._common import add_overrides_arg


def register(sub) -> None:
    p = sub.add_parser("scaling", help="train + measure C^alpha slopes over image sizes and "
                       "training steps (resumes; --list prints the commands)",
                       description="For each image size, step count and alpha: train the "
                       "preset (data.size, train.epochs and train.lr_halve_every overridden) "
                       "into OUT/size{S}_steps{N}_alpha{A}, then measure its PSNR slope as "
                       "`gahr slopes` does. Finished cells are skipped. Writes scaling.md, "
                       ".json, scaling_slope.png, scaling_floor.png.")
    p.add_argument("preset", help="a C^alpha training preset, e.g. configs/cpu/calpha32_unet.toml")
    p.add_argument("--out", required=True, help="output directory (one run dir per cell)")
    p.add_argument("--sizes", type=int, nargs="+", default=[32, 48, 64])
    p.add_argument("--steps", type=int, nargs="+", default=[1000, 3000],
                   help="training steps (rounded to whole epochs of the preset)")
    p.add_argument("--alphas", type=float, nargs="+", default=[2.0])
    p.add_argument("--n-images", type=int, default=64, help="test images per cell")
    p.add_argument("--list", action="store_true", help="print each cell's train and slopes "
                   "commands (for a scheduler) and exit")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_overrides_arg(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..workflows.scaling import scaling_plan, scaling_run

    if args.list:
        print("\n".join(scaling_plan(args.preset, args.out, args.sizes, args.steps, args.alphas,
                                     args.overrides)))
        return 0
    scaling_run(args.preset, args.out, args.sizes, args.steps, args.alphas, args.overrides,
                n_images=args.n_images, progress=not args.quiet)
    print(open(f"{args.out}/scaling.md").read(), end="")
    print(f"-> {args.out}/scaling.md, .json, scaling_slope.png, scaling_floor.png")
    return 0
