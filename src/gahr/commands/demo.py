"""`gahr demo`: train, sample, analyse and report on the embedded synthetic default."""

from ._common import add_overrides_arg


def register(sub) -> None:
    p = sub.add_parser(
        "demo", help="the main job: memorization vs generalization + eigen analysis, HTML report",
        description="On synthetic discs (no download): train S1/S2 pairs of bias-free UNets at a "
        "memorizing and a generalizing N, sample them from the same seeds, measure memorization, "
        "decompose the Jacobian of the generalizing denoiser, and write OUT/report.html. "
        "About 10 minutes on a 2-core CPU; --quick under a minute. Reruns resume.")
    p.add_argument("--out", default="runs/demo", help="output dir (default runs/demo)")
    p.add_argument("--quick", action="store_true", help="toy size, under a minute")
    add_overrides_arg(p)
    p.add_argument("--dry-run", action="store_true", help="print the resolved config and stop")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..config import to_dict
    from ..workflows.demo import demo_config, run_demo
    from ._common import print_json

    if args.dry_run:
        print_json(to_dict(demo_config(args.out, args.quick, args.overrides)))
        return 0
    result = run_demo(args.out, args.quick, args.overrides, progress=not args.quiet)
    print("\n".join(result.summary))
    return 0
