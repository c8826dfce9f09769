"""`gahr solve`: a linear inverse problem with the prior implicit in a trained denoiser."""

from ._common import show_progress
from .sample import add_sampler_args, schedule_of

TASKS = ["inpaint", "pixels", "superres", "lowpass", "compressive", "mask"]

def register(sub) -> None:
    p = sub.add_parser("solve", help="solve a linear inverse problem with a trained denoiser",
                       description="Kadkhodaie & Simoncelli (2021), Algorithm 2. Measures "
                       "--input (the ground truth) with the task's operator, reconstructs, and "
                       "writes measurement.npy, measured.png, reconstruction.npz/.png and "
                       "metrics.json (PSNR/SSIM against the input) into --out. Exit status: 0 "
                       "when every reconstruction converged, 1 when any failed (named in the "
                       "summary), 2 for bad input.")
    p.add_argument("run_dir", help="run dir or model.safetensors")
    p.add_argument("--task", required=True, choices=TASKS)
    p.add_argument("--input", help="ground-truth image (PNG/JPEG) to measure")
    p.add_argument("--measurement", help="a measurement .npy (M^T x) instead of --input")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--n", type=int, default=1, help="posterior samples to draw")
    p.add_argument("--factor", type=int, default=4, help="superres: block size")
    p.add_argument("--p", type=float, default=0.25,
                   help="pixels/lowpass/compressive: fraction of dimensions measured")
    p.add_argument("--box", type=int, nargs=4, metavar=("TOP", "LEFT", "HEIGHT", "WIDTH"),
                   help="inpaint: the missing box (default: the central half)")
    p.add_argument("--mask", help="mask: .npy or image, true/white = measured pixel")
    add_sampler_args(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..workflows.sample_files import solve_to_files
    from ._common import resolve_device

    metrics = solve_to_files(args.run_dir, args.out, args.task, schedule_of(args),
                             input=args.input, measurement=args.measurement, n=args.n,
                             seed=args.seed, factor=args.factor, p=args.p, box=args.box,
                             mask=args.mask, device=resolve_device(args.device),
                             progress=show_progress(args))
    line = f"{args.task}: {metrics['measured_dims']}/{metrics['image_dims']} dims measured"
    if "psnr" in metrics and metrics["psnr"]:
        line += (f"; PSNR {sum(metrics['psnr']) / len(metrics['psnr']):.2f} dB "
                 f"(measurement alone {metrics['psnr_measured']:.2f} dB), SSIM "
                 f"{sum(metrics['ssim']) / len(metrics['ssim']):.3f}")
    if metrics["failed"]:
        line += f"; FAILED: {len(metrics['failed'])} of {args.n}: {metrics['failed']}"
    print(f"{line} -> {args.out}")
    return 1 if metrics["failed"] else 0
