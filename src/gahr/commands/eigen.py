"""`gahr eigen`: the Jacobian eigenbasis of a trained denoiser at a noisy image."""

from ._common import (
    add_device_arg,
    add_sigma_args,
    get_sigma,
    json_options,
    resolve_device,
    show_progress,
    sigma_value,
)


def register(sub) -> None:
    p = sub.add_parser("eigen", help="eigenvalues/eigenvectors of the denoiser's Jacobian at an "
                       "image", description="Add noise of level sigma to a clean image, compute "
                       "the Jacobian J(y) of the denoiser (all of it, or the top k by Lanczos), "
                       "and write eigen.npz, triple.png, spectrum.png, eigenvectors.png and "
                       "summary.json into --out (one folder per sigma with --sigmas).")
    p.add_argument("run_dir", help="run dir, model.safetensors or pretrained:NAME")
    p.add_argument("--input", help="clean image: PNG/JPEG, or an .npy image set (default: a "
                   "fresh test image of the model's training class)")
    p.add_argument("--index", type=int, default=0, help="image index in --input or in the "
                   "fresh test images")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--k", type=int, default=None,
                   help="only the top k eigenpairs, by Lanczos (default: all, dense)")
    p.add_argument("--ranks", type=int, nargs="+", help="1-based ranks of the eigenvectors shown")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise (and Lanczos start)")
    p.add_argument("--chunk-size", type=int, default=None,
                   help="basis vectors per batched product (default: 2^17/D in [8, 128])")
    p.add_argument("--options", default=None, help="JSON data options of the fresh test image, "
                   'replacing the run\'s, e.g. \'{"blur": null}\'')
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    group = add_sigma_args(p)
    group.add_argument("--sigmas", type=sigma_value, nargs="+",
                       help="several noise levels, e.g. 15/255 30/255 60/255 (one folder each)")
    add_device_arg(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..errors import ConfigError
    from ..workflows.eigen_files import eigen_run

    sigmas = args.sigmas or get_sigma(args)
    if sigmas is None:
        raise ConfigError("give a noise level: --sigma 30/255, --sigma255 30 or --sigmas ...")
    options = json_options(args.options)
    rows = eigen_run(args.run_dir, args.input, sigmas, args.out, index=args.index,
                     seed=args.seed, k=args.k, ranks=args.ranks,
                     device=resolve_device(args.device), chunk_size=args.chunk_size,
                     progress=show_progress(args), options=options)
    for s in rows:
        dim = s["effective_dimension"]
        dim = f", effective dimension {dim:.1f} of {s['dimension']}" if dim is not None else ""
        print(f"sigma {s['sigma255']:.3g}/255: PSNR {s['psnr_noisy']:.2f} -> "
              f"{s['psnr_denoised']:.2f} dB{dim}, asymmetry {s['asymmetry']:.3f} (top "
              f"{s['top_dim']}: {s['asymmetry_top']:.3f}; on y: {s['asymmetry_y']:.3f}), "
              f"lambda_1..3 {', '.join(f'{v:.3f}' for v in s['lambda_top'][:3])} -> {s['out']}")
    return 0
