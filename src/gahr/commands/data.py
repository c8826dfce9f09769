"""`gahr data make|prepare|show`: generate, cache and look at image sets."""

import argparse

from ..errors import ConfigError

DISC_FACTORS = ("translate", "scale", "foreground", "background")


def _crop(text: str):
    if text == "center":
        return text
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4:
        raise argparse.ArgumentTypeError(f"{text!r}: write center or TOP,LEFT,HEIGHT,WIDTH")
    return values


def _add_make(sub) -> None:
    make = sub.add_parser("make", help="generate a synthetic image set into a .npy file")
    kinds = make.add_subparsers(dest="kind", metavar="KIND", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--n", type=int, required=True, help="number of images")
    common.add_argument("--seed", type=int, default=0)
    common.add_argument("--dtype", choices=("float32", "uint8"), default="float32",
                        help="storage (uint8 rounds to 8 bits: noise of std ~0.0011)")
    common.add_argument("--out", required=True, help="output .npy file")
    calpha = kinds.add_parser("calpha", parents=[common], help="C^alpha images (paper Sec. 4)")
    calpha.add_argument("--size", type=int, default=80)
    calpha.add_argument("--alpha", type=float, default=2.0, help="contour regularity, (0, 5]")
    calpha.add_argument("--beta", type=float, default=None, help="background one (default alpha)")
    calpha.add_argument("--blur", type=int, nargs=2, default=[2, 2], metavar=("ROWS", "COLS"),
                        help="box blur of the boundary (default 2 2, the paper's class; 1 1: none)")
    calpha.add_argument("--no-blur", dest="blur", action="store_const", const=None,
                        help="a hard edge (same as --blur 1 1)")
    calpha.add_argument("--antialias", type=int, default=0,
                        help="render 2^J times larger with a hard edge and average blocks")
    discs = kinds.add_parser("discs", parents=[common], help="disc images (paper Sec. 3.3)")
    discs.add_argument("--size", type=int, default=32)
    discs.add_argument("--freeze", nargs="+", choices=DISC_FACTORS, default=(),
                       help="factors held at their default instead of random")
    discs.add_argument("--wrap", action="store_true", help="periodic discs (may cross edges)")
    discs.add_argument("--integer", action="store_true", help="integer centers and radii")
    discs.add_argument("--antialias", type=int, default=0, help="2^J x 2^J samples per pixel")
    discs.add_argument("--hard", action="store_true", help="hard edges (the paper's code)")
    make.set_defaults(func=run_make)


def _add_prepare(sub) -> None:
    prepare = sub.add_parser("prepare", help="cache an image folder as a uint8 .npy file",
                             description="Read every PNG/JPEG/... under FOLDER (recursively), "
                             "crop, resize, convert, drop near-duplicates, write OUT atomically.")
    prepare.add_argument("folder")
    prepare.add_argument("--out", required=True, help="output .npy file")
    prepare.add_argument("--preset", default=None, help="celeba: the paper's 80x80 gray faces")
    prepare.add_argument("--crop", type=_crop, default=None, help="center or TOP,LEFT,H,W")
    prepare.add_argument("--size", type=int, default=None, help="resize to SIZE x SIZE")
    color = prepare.add_mutually_exclusive_group()
    color.add_argument("--gray", dest="gray", action="store_const", const=True, default=None)
    color.add_argument("--color", dest="gray", action="store_const", const=False)
    prepare.add_argument("--dedup", type=float, default=0.95,
                         help="drop images correlated above this with an earlier one")
    prepare.add_argument("--no-dedup", dest="dedup", action="store_const", const=None)
    prepare.set_defaults(func=run_prepare)


def register(sub) -> None:
    p = sub.add_parser("data", help="make, prepare and show image sets",
                       description="Synthetic classes (calpha, discs), image folders, and a "
                       "picture of any data source.")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    _add_make(actions)
    _add_prepare(actions)
    show = actions.add_parser("show", help="save a PNG grid of the first images of a source")
    show.add_argument("source", help="calpha, discs, fashion-mnist, a .npy file or a folder")
    show.add_argument("--n", type=int, default=16)
    show.add_argument("--nrow", type=int, default=None, help="images per row")
    show.add_argument("--seed", type=int, default=0)
    show.add_argument("--out", required=True, help="output .png file")
    show.set_defaults(func=run_show)


def run_make(args) -> int:
    from ..data import make_dataset

    if args.kind == "calpha":
        options = dict(alpha=args.alpha, beta=args.beta, antialias=args.antialias,
                       blur=None if args.blur is None else tuple(args.blur))
    else:
        options = {f: f not in args.freeze for f in DISC_FACTORS}
        options.update(wrap=args.wrap, continuous=not args.integer, antialias=args.antialias,
                       hard=args.hard)
    summary = make_dataset(args.kind, args.out, n=args.n, size=args.size, seed=args.seed,
                           dtype=args.dtype, **options)
    extra = f", params -> {summary['params']}" if "params" in summary else ""
    print(f"made {summary['n']} {args.kind} images {tuple(summary['shape'][1:])} "
          f"({args.dtype}) -> {args.out}{extra}")
    return 0


def run_prepare(args) -> int:
    from ..data import prepare_folder

    if args.dedup is not None and not 0 < args.dedup <= 1:
        raise ConfigError(f"--dedup must be in (0, 1], got {args.dedup}; or pass --no-dedup")
    s = prepare_folder(args.folder, args.out, preset=args.preset, crop=args.crop,
                       size=args.size, gray=args.gray, dedup=args.dedup)
    print(f"found {s.found} files, wrote {s.written} images {tuple(s.shape[1:])} -> {s.out}; "
          f"dropped {s.duplicates} near-duplicates, skipped {len(s.skipped)} unreadable")
    for path, reason in s.skipped[:20]:
        print(f"  skipped {path}: {reason}")
    if len(s.skipped) > 20:
        print(f"  ... and {len(s.skipped) - 20} more")
    return 0


def run_show(args) -> int:
    from ..workflows.data_files import show_dataset

    path = show_dataset(args.source, args.out, n=args.n, nrow=args.nrow, seed=args.seed)
    print(f"wrote {path}")
    return 0
