"""`gahr demo`: train, sample, analyse and report on the embedded synthetic default."""

from ._common import add_overrides_arg, show_progress


def register(sub) -> None:
    p = sub.add_parser(
        "demo", help="the main job: memorization vs generalization + eigen analysis, HTML report",
        description="On an embedded synthetic class (no download): train S1/S2 pairs of "
        "bias-free UNets at a memorizing and a generalizing N, sample them from the same "
        "seeds, measure memorization, decompose the Jacobian of the generalizing denoiser, and "
        "write OUT/report.html, OUT/summary.md and OUT/summary.json. Reruns resume. The run "
        "time measured last is in the README's demo block.")
    p.add_argument("--out", default="runs/demo", help="output dir (default runs/demo)")
    p.add_argument("--quick", action="store_true", help="toy size: checks the pipeline")
    add_overrides_arg(p)
    p.add_argument("--dry-run", action="store_true", help="print the resolved config and stop")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bars (they are drawn only on a terminal anyway)")
    p.add_argument("--publish", metavar="REPO", nargs="?", const=".",
                   help="after a run from scratch (an empty --out), paste OUT/summary.md into "
                   "REPO/README.md between its demo markers, save it as REPO/docs/"
                   "demo_summary.md and copy the gallery figures to REPO/docs/gallery "
                   "(REPO default: .)")
    p.add_argument("--retrain", action="store_true",
                   help="compute again (replacing them) the stages saved with other settings: "
                   "runs trained with another config, an eigen result another command wrote "
                   "into OUT/eigen; without it they are refused")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..config import to_dict
    from ..workflows.demo import demo_config, run_demo
    from ._common import print_json

    if args.dry_run:
        from ..train import sweep_jobs
        from ._dry_run import dry_run_notes

        config = demo_config(args.out, args.quick, args.overrides)
        print_json(to_dict(config))
        dry_run_notes("preset", {j.name: j.config.data for j in sweep_jobs(config)})
        return 0
    result = run_demo(args.out, args.quick, args.overrides, progress=show_progress(args),
                      retrain=args.retrain)
    print("\n".join(result.summary))
    if args.publish is not None:
        from ..workflows.readme import publish

        for path in publish(args.out, args.publish):
            print(f"published {path}")
    return 0
