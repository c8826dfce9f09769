"""`gahr convert`: import a checkpoint saved by the paper's code into a run dir."""


def register(sub) -> None:
    p = sub.add_parser(
        "convert", help="import a paper-code checkpoint (.pt state dict) into a run dir",
        description="Load a state dict saved by the paper repository's code/network.py (UNet or "
        "BF_CNN, with or without DataParallel's 'module.' prefix) and write model.safetensors + "
        "model.json.")
    p.add_argument("checkpoint", help="the .pt file saved by the paper's code")
    p.add_argument("--arch", required=True, help="unet or bfcnn")
    p.add_argument("--out", required=True, help="run dir to write")
    p.add_argument("--channels", type=int, default=1, help="image channels (1 gray, 3 color)")
    p.add_argument("--num-kernels", type=int, default=64)
    p.add_argument("--num-blocks", type=int, default=3, help="unet only")
    p.add_argument("--num-enc-conv", type=int, default=2, help="unet only")
    p.add_argument("--num-mid-conv", type=int, default=2, help="unet only")
    p.add_argument("--num-dec-conv", type=int, default=2, help="unet only")
    p.add_argument("--num-layers", type=int, default=20, help="bfcnn only")
    p.add_argument("--first-layer-linear", action="store_true", help="bfcnn only")
    p.add_argument("--kernel-size", type=int, default=3)
    p.add_argument("--mean-intensity", type=float, default=None,
                   help="training set mean intensity, stored for the sampler's start")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..io import check_out_dir
    from ..nets import load_seed_checkpoint, save
    from ..rundir import CHECKPOINT, CONFIG_JSON, MODEL_JSON, WEIGHTS

    check_out_dir(args.out, (WEIGHTS, MODEL_JSON), "converted model",
                  forbidden=(CONFIG_JSON, CHECKPOINT))
    if args.arch == "unet":
        config = dict(num_blocks=args.num_blocks, num_enc_conv=args.num_enc_conv,
                      num_mid_conv=args.num_mid_conv, num_dec_conv=args.num_dec_conv)
    elif args.arch == "bfcnn":
        config = dict(num_layers=args.num_layers, first_layer_linear=args.first_layer_linear)
    else:
        config = {}
    config.update(channels=args.channels, num_kernels=args.num_kernels,
                  kernel_size=args.kernel_size)
    net = load_seed_checkpoint(args.checkpoint, args.arch, **config)
    meta = {"source": f"converted from {args.checkpoint}"}
    if args.mean_intensity is not None:
        meta["mean_intensity"] = args.mean_intensity
    path = save(net, args.out, meta=meta)
    n_params = sum(p.numel() for p in net.parameters())
    print(f"converted {args.checkpoint} ({args.arch}, {n_params} parameters) -> {path}")
    return 0
