"""`gahr eigen`: the Jacobian eigenbasis of a trained denoiser at one noisy image."""

from ._common import add_device_arg, add_sigma_args, get_sigma, resolve_device


def register(sub) -> None:
    p = sub.add_parser("eigen", help="eigenvalues/eigenvectors of the denoiser's Jacobian at an "
                       "image", description="Add noise of level sigma to a clean image, compute "
                       "the Jacobian J(y) of the denoiser (all of it, or the top k by Lanczos), "
                       "and write eigen.npz, triple.png, spectrum.png, eigenvectors.png and "
                       "summary.json into --out.")
    p.add_argument("run_dir", help="run dir or model.safetensors")
    p.add_argument("--input", required=True, help="clean image: PNG/JPEG, or an .npy image set")
    p.add_argument("--index", type=int, default=0, help="image index when --input is .npy")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--k", type=int, default=None,
                   help="only the top k eigenpairs, by Lanczos (default: all, dense)")
    p.add_argument("--ranks", type=int, nargs="+", help="1-based ranks of the eigenvectors shown")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise (and Lanczos start)")
    p.add_argument("--chunk-size", type=int, default=None,
                   help="basis vectors per batched product (default: 2^17/D in [8, 128])")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_sigma_args(p, required=True)
    add_device_arg(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..workflows.eigen_files import eigen_run

    s = eigen_run(args.run_dir, args.input, get_sigma(args), args.out, index=args.index,
                  seed=args.seed, k=args.k, ranks=args.ranks, device=resolve_device(args.device),
                  chunk_size=args.chunk_size, progress=not args.quiet)
    dim = s["effective_dimension"]
    dim = f", effective dimension {dim:.1f} of {s['dimension']}" if dim is not None else ""
    print(f"sigma {s['sigma255']:.3g}/255: PSNR {s['psnr_noisy']:.2f} -> {s['psnr_denoised']:.2f} "
          f"dB{dim}, asymmetry {s['asymmetry']:.3f} (top {s['top_dim']}: "
          f"{s['asymmetry_top']:.3f}), lambda_1..3 "
          f"{', '.join(f'{v:.3f}' for v in s['lambda_top'][:3])} -> {args.out}")
    return 0
