"""`gahr memorization CONFIG`: train the sweep's S1/S2 models (skipping finished ones), then
sample them from the same seeds and measure memorization versus generalization."""


from ._common import add_overrides_arg, print_verdict_notes, show_progress


def register(sub) -> None:
    p = sub.add_parser(
        "memorization", help="the memorization experiment: sweep, same-seed samples, metrics",
        description="Train every unfinished run of the experiment's sweep (as `gahr sweep`), "
        "then, for each N, sample the S1 and S2 models from the same seeds and write "
        "N{n}.json/.npz, results.json, figures/ and report.html to the analysis dir "
        "(memorization.out, default <sweep.out>/memorization). Finished parts are skipped.")
    p.add_argument("config", help="experiment TOML ([data] [model] [train] [sweep] "
                   "[memorization]), e.g. configs/experiments/fashion32.toml")
    add_overrides_arg(p)
    p.add_argument("--out", help="sweep root dir (default: sweep.out of the config)")
    p.add_argument("--seed", type=int, help="shortcut for --set memorization.seed=...")
    p.add_argument("--analysis-only", action="store_true",
                   help="do not train: fail if a run is missing")
    p.add_argument("--models", metavar="TEMPLATE",
                   help="analyse models trained elsewhere instead of training the sweep: a spec "
                   "template with {n} and {split}, e.g. 'diffusers:runs/ddpm/N{n}_{split}' "
                   "(shortcut for --set memorization.models=...)")
    p.add_argument("--sampler", help="shortcut for --set memorization.sampler=... (e.g. heun)")
    p.add_argument("--quiet", action="store_true", help="no training progress bar")
    p.add_argument("--retrain", action="store_true",
                   help="train again (replacing them) the runs saved with other settings than "
                   "the config's; without it such runs are refused")
    p.add_argument("--sizes", help="run the experiment at each image side, e.g. 16,32, in "
                   "<sweep.out>-<size>px, and compare the train-test gap against N across sizes "
                   "in <sweep.out>-sizes-<sizes>/; SIZE:BLOCKS (e.g. 16:1,32:2) also sets the "
                   "UNet's number of blocks per size")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..config import load_experiment
    from ..workflows.experiment import analysis_dir, run_experiment
    from ..workflows.experiment_report import table_lines

    overrides = list(args.overrides)
    for key in ("seed", "models", "sampler"):
        if getattr(args, key) is not None:
            overrides.append(f"memorization.{key}={getattr(args, key)}")
    if args.sizes is not None:
        from ..workflows.sizes import parse_sizes, run_sizes

        run_sizes(args.config, overrides, parse_sizes(args.sizes), out=args.out,
                  train=not args.analysis_only, progress=show_progress(args),
                  retrain=args.retrain)
        return 0
    config = load_experiment(args.config, overrides)
    results = run_experiment(config, out=args.out, train=not args.analysis_only,
                             progress=show_progress(args), retrain=args.retrain)
    print("\n".join(table_lines(results)))
    print(f"memorization: {len(results['table'])} values of N analysed\nreport: "
          f"{analysis_dir(config, args.out) / 'report.html'}")
    print_verdict_notes(results)
    return 0
